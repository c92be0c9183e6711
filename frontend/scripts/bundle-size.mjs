// Prints the gzipped JS + CSS that the first visit of each page loads (the
// app shell plus that page's own chunks) and fails when the heaviest one is
// over the budget. Reads Vite's manifest of the last `vite build`.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET_KB = 150;
const out = new URL('../.svelte-kit/output/client/', import.meta.url).pathname;
const generated = new URL('../.svelte-kit/generated/client-optimized/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(out, '.vite/manifest.json'), 'utf8'));

/** Every file that loading `key` pulls in statically: itself, its CSS, its static imports. */
function closure(key, files = new Set()) {
	const chunk = manifest[key];
	if (!chunk || files.has(chunk.file)) return files;
	files.add(chunk.file);
	for (const css of chunk.css ?? []) files.add(css);
	for (const imp of chunk.imports ?? []) closure(imp, files);
	return files;
}

const gz = new Map();
function size(files) {
	let total = 0;
	for (const f of files) {
		if (!gz.has(f)) gz.set(f, gzipSync(readFileSync(join(out, f)), { level: 9 }).length);
		total += gz.get(f);
	}
	return total;
}

const entries = Object.keys(manifest).filter((k) => manifest[k].isEntry && !manifest[k].isDynamicEntry);
const nodeKey = (n) => Object.keys(manifest).find((k) => k.endsWith(`/nodes/${n}.js`));
const shell = new Set();
for (const e of [...entries, nodeKey(0)]) closure(e, shell);

const kb = (b) => (b / 1024).toFixed(1);
const rows = [];
for (const key of Object.keys(manifest)) {
	const m = /\/nodes\/(\d+)\.js$/.exec(key);
	if (!m || m[1] === '0') continue;
	const src = readFileSync(join(generated, `nodes/${m[1]}.js`), 'utf8');
	const found = /src\/routes([^'"]*)\/\+(page|error)\.svelte/.exec(src);
	const route = found ? (found[1].replace(/\/\([^)]*\)/g, '') || '/') + (found[2] === 'error' ? ' (error)' : '') : '(error)';
	const files = closure(key, new Set(shell));
	rows.push({ route, bytes: size(files), files: files.size });
}
rows.sort((a, b) => b.bytes - a.bytes);
const worst = rows[0] ?? { route: '(shell)', bytes: size(shell), files: shell.size };

console.log(`initial load, gzipped JS + CSS (budget ${BUDGET_KB} KB):`);
console.log(`  app shell                ${kb(size(shell)).padStart(7)} KB  (${shell.size} files)`);
for (const r of rows) console.log(`  ${r.route.padEnd(24)} ${kb(r.bytes).padStart(7)} KB  (${r.files} files)`);
console.log(`bundle size: ${kb(worst.bytes)} KB gzipped for the heaviest first page (${worst.route})`);
if (worst.bytes > BUDGET_KB * 1024) {
	console.error(`bundle size: over the budget of ${BUDGET_KB} KB`);
	process.exit(1);
}
