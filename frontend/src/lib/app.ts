// The app's one session and API client.
import { createApi } from './api/client';
import { Session } from './session.svelte';

export const session = new Session();
export const api = createApi(session);
