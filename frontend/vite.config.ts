import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// The dev server proxies the broker's endpoints to a running `make run`.
const broker = process.env.DDNSBROKER_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
	plugins: [sveltekit()],
	server: {
		proxy: {
			'/api': broker,
			'/nic': broker,
			'/myip': broker
		}
	},
	build: { reportCompressedSize: false },
	test: {
		include: ['src/**/*.test.ts'],
		environment: 'happy-dom'
	},
	resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined
});
