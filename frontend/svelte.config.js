import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * SvelteKit's route announcer (the visually hidden live region that reads
 * out page titles) carries an inline style attribute. The policy allows
 * exactly that attribute by its hash instead of 'unsafe-inline'. Read from
 * SvelteKit itself so that an upgrade that changes it fails here, loudly.
 */
function announcerStyleHash() {
	const kit = dirname(createRequire(import.meta.url).resolve('@sveltejs/kit/package.json'));
	const root = readFileSync(join(kit, 'src/core/sync/write_root.js'), 'utf8');
	const style = /id="svelte-announcer"[^>]*\bstyle="([^"]+)"/.exec(root)?.[1];
	if (!style) throw new Error('svelte.config.js: cannot find the style of SvelteKit\'s route announcer; update announcerStyleHash');
	return `sha256-${createHash('sha256').update(style).digest('base64')}`;
}

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	compilerOptions: { runes: true },
	kit: {
		// A single-page app: every unknown path gets index.html and the client
		// router takes over (the Go server does the same fallback).
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', precompress: true, strict: true }),
		paths: { relative: false },
		// The Content-Security-Policy of the app. SvelteKit writes it into
		// index.html with the hashes of its inline bootstrap script; the Go
		// server (frontend/serve.go) sends the same policy as a header and
		// adds frame-ancestors, which a <meta> policy cannot carry.
		csp: {
			mode: 'hash',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self'],
				'style-src-attr': ['unsafe-hashes', /** @type {`sha256-${string}`} */ (announcerStyleHash())],
				'img-src': ['self', 'data:'],
				'font-src': ['self'],
				'connect-src': ['self'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self']
			}
		},
		version: { pollInterval: 0 }
	}
};

export default config;
