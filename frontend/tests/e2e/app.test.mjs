// Browser test of the admin web app against the real binary on real
// PostgreSQL, driven by Debian's Chromium through playwright-core.
//
//   DDNSBROKER_TEST_DATABASE_URL  a PostgreSQL the test may create a database in (make test sets it)
//   DDNSBROKER_E2E_BINARY         the broker built with -tags embedfrontend (default: bin/ddnsbroker)
//   DDNSBROKER_E2E_SCREENSHOTS    where screenshots go (default: frontend/test-results/screenshots)
//
// All traffic stays on 127.0.0.1: the broker, a fake dyndns2 upstream, a
// webhook receiver, the browser.
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const frontendDir = resolve(here, '../..');
const repo = resolve(frontendDir, '..');
const binary = resolve(repo, process.env.DDNSBROKER_E2E_BINARY ?? 'bin/ddnsbroker');
const shots = resolve(process.env.DDNSBROKER_E2E_SCREENSHOTS ?? join(frontendDir, 'test-results', 'screenshots'));
const ADMIN_PASSWORD = `e2e-${randomBytes(9).toString('base64url')}`;
const USER_PASSWORD = `e2e-user-${randomBytes(9).toString('base64url')}`;
const PUBLIC_URL = 'https://ddns.example.test';
const WAIT = 30_000;
/** How soon a router's update must show on an open page (the issue's acceptance line). */
const LIVE_WITHIN = 2_000;
const axeSource = readFileSync(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');

function freePort() {
	return new Promise((ok, fail) => {
		const srv = createNetServer();
		srv.once('error', fail);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => ok(port));
		});
	});
}

/** A dyndns2 provider that accepts everything and remembers what it was told. */
function fakeUpstream() {
	const requests = [];
	const server = createServer((req, res) => {
		const url = new URL(req.url, 'http://upstream');
		const auth = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
		requests.push({ path: url.pathname, hostname: url.searchParams.get('hostname'), myip: url.searchParams.get('myip'), auth, ua: req.headers['user-agent'] });
		res.writeHead(200, { 'Content-Type': 'text/plain' });
		// a record named broken.* has wrong upstream credentials
		const hostname = url.searchParams.get('hostname') ?? '';
		res.end(hostname.startsWith('broken.') ? 'badauth\n' : `good ${url.searchParams.get('myip') ?? ''}\n`);
	});
	return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, requests, port: server.address().port })));
}

/** A webhook receiver that answers 204 and remembers each request with its raw body. */
function webhookReceiver() {
	const requests = [];
	const server = createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			requests.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
			res.writeHead(204);
			res.end();
		});
	});
	return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, requests, port: server.address().port })));
}

function psql(url, sql) {
	execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitFor(check, what, timeout = WAIT) {
	const end = Date.now() + timeout;
	let last;
	while (Date.now() < end) {
		try {
			if (await check()) return;
		} catch (err) {
			last = err;
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** The TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) of a base32 secret at a time, as an authenticator app computes it. */
function totp(secret, at = Date.now()) {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = '';
	for (const ch of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
	const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
	const counter = Buffer.alloc(8);
	counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
	const mac = createHmac('sha1', key).update(counter).digest();
	const off = mac[mac.length - 1] & 0xf;
	return String((mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function dyndns2(base, user, pass, query) {
	const res = await fetch(`${base}/nic/update?${new URLSearchParams(query)}`, {
		headers: { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`, 'User-Agent': 'e2e-test/1.0' }
	});
	return { status: res.status, body: (await res.text()).trim() };
}

describe('admin web app', { timeout: 420_000 }, () => {
	const ctx = {};
	/** @type {import('playwright-core').Page} */
	let page;
	const cspViolations = [];

	before(async () => {
		const testDB = process.env.DDNSBROKER_TEST_DATABASE_URL;
		assert.ok(testDB, 'DDNSBROKER_TEST_DATABASE_URL is not set: run make test, or point it at a PostgreSQL you may create databases in');
		mkdirSync(shots, { recursive: true });
		console.log(`screenshots: ${shots}`);

		// An own database, so the Go tests sharing the cluster never see ours.
		ctx.adminDB = testDB;
		ctx.dbName = `ddnsbroker_e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
		psql(testDB, `CREATE DATABASE ${ctx.dbName}`);
		const dbURL = new URL(testDB);
		dbURL.pathname = `/${ctx.dbName}`;

		ctx.upstream = await fakeUpstream();
		const port = await freePort();
		ctx.base = `http://127.0.0.1:${port}`;
		ctx.tmp = mkdtempSync(join(tmpdir(), 'ddnsbroker-e2e-'));
		ctx.logPath = join(ctx.tmp, 'broker.log');
		const log = createWriteStream(ctx.logPath);
		ctx.broker = spawn(binary, ['serve'], {
			env: {
				PATH: process.env.PATH,
				HOME: process.env.HOME ?? ctx.tmp,
				DDNSBROKER_DATABASE_URL: dbURL.href,
				DDNSBROKER_LISTEN: `127.0.0.1:${port}`,
				DDNSBROKER_SECRET_KEY: randomBytes(32).toString('base64'),
				DDNSBROKER_ADMIN_PASSWORD: ADMIN_PASSWORD,
				DDNSBROKER_RETRY_BASE: '1s',
				DDNSBROKER_PUBLIC_URL: PUBLIC_URL,
				DDNSBROKER_LOG_LEVEL: 'info'
			},
			stdio: ['ignore', 'pipe', 'pipe']
		});
		ctx.broker.stdout.pipe(log);
		ctx.broker.stderr.pipe(log);
		ctx.broker.on('exit', (code) => (ctx.exited = code));
		await waitFor(async () => {
			if (ctx.exited !== undefined) throw new Error(`the broker exited with ${ctx.exited}:\n${readFileSync(ctx.logPath, 'utf8')}`);
			return (await fetch(`${ctx.base}/readyz`)).ok;
		}, 'the broker to be ready').catch((err) => {
			if (ctx.exited !== undefined) throw err;
			throw new Error(`${err.message}\n${readFileSync(ctx.logPath, 'utf8')}`);
		});
		const index = await (await fetch(`${ctx.base}/`)).text();
		assert.match(
			index,
			/_app\/immutable/,
			`${binary} does not serve the web app: build it with make build (go build -tags embedfrontend) and mount frontend.Register in serve.go`
		);

		ctx.profile = join(ctx.tmp, 'profile');
		ctx.browser = await chromium.launchPersistentContext(ctx.profile, {
			executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
			headless: true,
			args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
			viewport: { width: 1280, height: 900 },
			baseURL: ctx.base
		});
		page = ctx.browser.pages()[0] ?? (await ctx.browser.newPage());
		page.setDefaultTimeout(WAIT);
		page.on('console', (msg) => {
			if (/Content.Security.Policy/i.test(msg.text())) cspViolations.push(`${page.url()}: ${msg.text()} at ${JSON.stringify(msg.location())}`);
		});
		page.on('pageerror', (err) => cspViolations.push(`page error: ${err.message}`));
	});

	after(async () => {
		await ctx.browser?.close().catch(() => {});
		if (ctx.broker && ctx.exited === undefined) {
			ctx.broker.kill('SIGTERM');
			await new Promise((r) => ctx.broker.once('exit', r));
		}
		ctx.upstream?.server.close();
		ctx.receiver?.server.close();
		if (ctx.dbName) {
			try {
				psql(ctx.adminDB, `DROP DATABASE IF EXISTS ${ctx.dbName} WITH (FORCE)`);
			} catch {
				// the cluster goes away with make test anyway
			}
		}
		if (ctx.tmp) rmSync(ctx.tmp, { recursive: true, force: true });
	});

	it('sends a visitor to the login page and logs in with the keyboard', async () => {
		await page.goto('/hosts');
		await page.waitForURL(/\/login\?next=%2Fhosts$/);
		await page.getByLabel('User name').fill('admin');
		await page.getByLabel('Password').focus();
		await page.keyboard.type('wrong password');
		await page.keyboard.press('Enter');
		await page.getByRole('alert').waitFor();
		await page.getByLabel('Password').fill('');
		await page.getByLabel('Password').focus();
		await page.keyboard.type(ADMIN_PASSWORD);
		await page.keyboard.press('Enter');
		await page.waitForURL(/\/hosts$/);
		await page.getByRole('heading', { name: 'Hosts', level: 1 }).waitFor();
		await page.getByText('No hosts yet').waitFor();
		// the first login: a hint to replace the password from the log
		await page.getByTestId('first-login-hint').getByText(/still has its first password/).waitFor();
	});

	it('creates a service pointing at the fake upstream', async () => {
		await page.getByRole('link', { name: 'Services' }).click();
		await page.getByRole('link', { name: 'New service' }).click();
		await page.getByLabel('Name', { exact: true }).fill('fake upstream');
		await page.getByLabel('Update URL').fill(`http://127.0.0.1:${ctx.upstream.port}/nic/update`);
		// Test before saving: dyndns2 has no read-only check, and the form says so in plain words.
		await page.getByRole('button', { name: 'Test', exact: true }).click();
		const result = page.getByTestId('service-test');
		await result.getByText(/could not be checked without changing DNS/).waitFor();
		const step = result.locator('[data-step="credentials accepted"]');
		assert.equal(await step.getAttribute('data-status'), 'unchecked');
		await step.getByText('Not checked').waitFor();
		await step.getByText(/test with a record to send its current address for real/).waitFor();
		assert.equal(ctx.upstream.requests.length, 0, 'the test changed DNS');
		await page.getByRole('button', { name: 'Create service' }).click();
		await page.getByRole('heading', { name: 'fake upstream', level: 1 }).waitFor();
		await page.getByText('No record uses this service yet.').waitFor();
	});

	it('shows the API field errors next to the field', async () => {
		await page.goto('/hosts/new');
		await page.getByLabel('FQDN').fill('not a name');
		await page.getByRole('button', { name: 'Create host' }).click();
		const error = page.locator('#host-fqdn-error');
		await error.waitFor();
		assert.notEqual((await error.textContent()).trim(), '');
		assert.equal(await page.getByLabel('FQDN').getAttribute('aria-invalid'), 'true');
	});

	it('creates a host and shows its secret once, with the router setup', async () => {
		await page.getByLabel('FQDN').fill('home.example.org');
		await page.getByRole('button', { name: 'Create host' }).click();
		await page.getByRole('heading', { name: 'home.example.org', level: 1 }).waitFor();
		ctx.hostURL = page.url();
		ctx.secret = (await page.getByTestId('secret').textContent()).trim();
		assert.ok(ctx.secret.length >= 16, `secret ${ctx.secret}`);

		// The setup comes from the API with the new secret filled in, for
		// the configured public URL (DDNSBROKER_PUBLIC_URL), not the
		// address the browser happens to use.
		const panel = page.getByTestId('setup-panel');
		const code = () => panel.getByTestId('setup-code').textContent();
		const has = async (lines) => {
			const text = await code();
			return lines.every((l) => text.includes(l));
		};
		await panel.getByRole('tab', { name: 'ddclient', selected: true }).waitFor();
		const host = 'home.example.org';
		await waitFor(
			() =>
				has(['protocol=dyndns2', 'ssl=yes', `login=${host}`, `password='${ctx.secret}'`,
					`use=web, web=https://ipv4.ddns.example.test/myip, server=ipv4.ddns.example.test ${host}\n`,
					`use=web, web=https://ipv6.ddns.example.test/myip, server=ipv6.ddns.example.test ${host}.\n`]),
			'the ddclient setup with the secret'
		);
		await panel.getByRole('tab', { name: 'FRITZ!Box' }).click();
		await waitFor(
			() => has([`Update URL: ${PUBLIC_URL}/nic/update?hostname=<domain>&myip=<ipaddr>,<ip6addr>&ip6lanprefix=<ip6lanprefix>`, `Password: ${ctx.secret}`]),
			'the FRITZ!Box setup'
		);
		// The admin can still type the address the routers use; the API
		// writes the setup for it (the secret is then a placeholder).
		await panel.getByRole('tab', { name: 'ddclient' }).click();
		await panel.getByLabel('Broker URL as your router reaches it').fill(ctx.base);
		const port = ctx.base.split(':')[2];
		await waitFor(
			() => has(['ssl=no', "password='YOUR-UPDATE-SECRET'", `use=web, web=${ctx.base}/myip, server=127.0.0.1:${port} ${host}\n`]),
			'the ddclient setup for the typed URL'
		);
		// an IPv4 address reaches no IPv6: the setup says so
		await panel.getByTestId('setup-warning').getByText(/IPv6 is not configured/).waitFor();
		await panel.getByLabel('Broker URL as your router reaches it').fill('ftp://nowhere');
		await panel.getByRole('alert').getByText(/http:\/\/ or https:\/\//).waitFor();
		await panel.getByLabel('Broker URL as your router reaches it').fill(PUBLIC_URL);
		await waitFor(() => has(['ssl=yes']), 'the setup for the public URL again');
		// the tabs work with the arrow keys
		await panel.getByRole('tab', { name: 'ddclient' }).press('ArrowRight');
		await panel.getByRole('tab', { name: 'inadyn', selected: true }).waitFor();
		await panel.getByRole('tab', { name: 'FRITZ!Box' }).click();
		await panel.scrollIntoViewIfNeeded();
		await panel.screenshot({ path: join(shots, 'host-setup-panel.png') });
	});

	it('sets the host addresses by hand', async () => {
		await page.getByRole('button', { name: 'Set addresses by hand' }).click();
		await page.getByLabel('IPv4', { exact: true }).fill('203.0.113.7');
		await page.getByLabel('IPv6', { exact: true }).fill('2001:db8:ffff::1');
		await page.getByLabel('IPv6 prefix').fill('2001:db8:77:1::/64');
		await page.getByRole('button', { name: 'Save addresses' }).click();
		await page.getByRole('button', { name: 'Set addresses by hand' }).waitFor();
		await page.getByText('2001:db8:77:1::/64').waitFor();
	});

	it('creates two records, previewing …::cafe as the form changes', async () => {
		await page.getByRole('link', { name: 'Add record' }).click();
		await page.getByRole('heading', { name: 'New record' }).waitFor();
		await page.getByLabel('DNS name (FQDN)').fill('nas.example.org');
		const v6 = page.getByTestId('preview-ipv6');
		await v6.getByText('2001:db8:ffff::1').waitFor(); // /128: the host's own address
		await page.locator('#rf-ipv6-netmask').fill('64');
		await page.locator('#rf-ipv6-ident').fill('::cafe');
		await v6.getByText('2001:db8:77:1::cafe', { exact: true }).waitFor();
		await page.locator('#rf-ipv6-netmask').fill('56');
		await page.locator('#rf-ipv6-ident').fill('0:0:0:42::cafe');
		await v6.getByText('2001:db8:77:42::cafe', { exact: true }).waitFor();
		await page.locator('#rf-ipv6-netmask').fill('64');
		await page.locator('#rf-ipv6-ident').fill('::cafe');
		await v6.getByText('2001:db8:77:1::cafe', { exact: true }).waitFor();
		assert.equal((await page.getByTestId('preview-ipv4').textContent()).trim(), '203.0.113.7');
		await page.getByLabel('User name').fill('upuser');
		await page.getByLabel('Password').fill('uppass');
		await page.locator('.record-form').screenshot({ path: join(shots, 'record-form.png') });
		await page.getByRole('button', { name: 'Create record' }).click();
		await page.getByRole('heading', { name: 'nas.example.org', level: 1 }).waitFor();

		// the second record: the host's own name and addresses
		await page.goto(ctx.hostURL);
		await page.getByRole('link', { name: 'Add record' }).click();
		await page.getByTestId('preview-ipv6').getByText('2001:db8:ffff::1', { exact: true }).waitFor();
		await page.getByRole('button', { name: 'Create record' }).click();
		await page.getByRole('heading', { name: 'home.example.org', level: 1 }).waitFor();
	});

	it('shows both records delivered on the dashboard after a dyndns2 update, without a reload', async () => {
		await page.getByRole('link', { name: 'Dashboard' }).click();
		const figure = async (id) => Number((await page.getByTestId(id).textContent()).trim());
		const until = (id, want) => waitFor(async () => (await figure(id)) === want, `${id} to be ${want}`);
		// what the records' creation queued is out of the way first
		await until('state-pending', 0);
		assert.equal(await figure('hosts-total'), 1);
		assert.equal(await figure('records-total'), 2);
		const before = await figure('delivered-hour');
		await page.evaluate(() => {
			window.__sameDocument = true;
		});

		const sent = await dyndns2(ctx.base, 'home.example.org', ctx.secret, {
			hostname: 'home.example.org',
			myip: '203.0.113.8,2001:db8:ffff::2',
			ip6lanprefix: '2001:db8:77:2::/64'
		});
		assert.equal(sent.status, 200, sent.body);
		assert.match(sent.body, /^good /);

		// four addresses (2 records × 2 families) sent and delivered, on the open page
		await until('delivered-hour', before + 4);
		await until('state-delivered', 4);
		assert.equal(await figure('state-pending'), 0);
		assert.equal(await figure('failing-count'), 0);
		assert.equal(await figure('failed-hour'), 0);
		await page.getByTestId('all-well').waitFor();
		assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the dashboard reloaded');
		await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });

		// the host page lists each record's addresses
		await page.goto(ctx.hostURL);
		const row = (fqdn) => page.locator(`[data-record="${fqdn}"]`);
		const expectations = [
			['nas.example.org', 4, '203.0.113.8'],
			['nas.example.org', 6, '2001:db8:77:2::cafe'],
			['home.example.org', 4, '203.0.113.8'],
			['home.example.org', 6, '2001:db8:ffff::2']
		];
		for (const [fqdn, family, address] of expectations) {
			const cell = row(fqdn).locator(`[data-family="${family}"]`);
			await cell.getByText(address, { exact: true }).waitFor();
			await cell.locator('[data-state="delivered"]').waitFor();
		}

		const got = ctx.upstream.requests;
		for (const [fqdn, , address] of expectations) {
			assert.ok(
				got.some((r) => r.hostname === fqdn && r.myip === address),
				`the upstream never got ${fqdn} → ${address}: ${JSON.stringify(got)}`
			);
		}
		assert.ok(got.some((r) => r.hostname === 'nas.example.org' && r.auth === 'upuser:uppass'), 'the record login was not sent');
	});

	it('shows a router update made with curl on the open dashboard and host page within 2 s, and in the timeline', async () => {
		const hostPage = await ctx.browser.newPage();
		hostPage.setDefaultTimeout(WAIT);
		try {
			await hostPage.goto(ctx.hostURL);
			await hostPage.getByTestId('freshness').getByText(/^live/).waitFor();
			await hostPage.getByRole('heading', { name: 'Address history' }).waitFor();
			await page.goto('/');
			await page.getByTestId('freshness').getByText('live').waitFor();
			for (const p of [page, hostPage])
				await p.evaluate(() => {
					window.__sameDocument = true;
				});

			const { stdout } = await promisify(execFile)('curl', [
				'-sS',
				'--fail-with-body',
				'-u',
				`home.example.org:${ctx.secret}`,
				`${ctx.base}/nic/update?hostname=home.example.org&myip=203.0.113.9`
			]);
			assert.match(stdout, /^good 203\.0\.113\.9/);

			// the dashboard says so at once, in words
			const event = page.getByTestId('latest-events').locator('[data-kind="address.changed"]').first();
			await event.getByText('Address changed').waitFor({ timeout: LIVE_WITHIN });
			await event.getByText(/203\.0\.113\.9/).waitFor({ timeout: LIVE_WITHIN });
			// the host page shows the new address and the change in its timeline
			await hostPage.locator('dd.mono', { hasText: '203.0.113.9' }).waitFor({ timeout: LIVE_WITHIN });
			const change = hostPage.locator('[data-change]').first();
			await change.getByTestId('timeline-to').getByText('203.0.113.9', { exact: true }).waitFor({ timeout: LIVE_WITHIN });
			await change.getByText('203.0.113.8', { exact: true }).waitFor();
			// each record's delivery, to the service, with the time it took
			await change.getByText('fake upstream').first().waitFor();
			await change.getByText(/delivered/).first().waitFor({ timeout: WAIT });
			await change.getByText(/^in \d/).first().waitFor();
			for (const p of [page, hostPage]) assert.equal(await p.evaluate(() => window.__sameDocument), true, 'a page reloaded');
			await change.scrollIntoViewIfNeeded();
			await hostPage.screenshot({ path: join(shots, 'host-timeline.png'), fullPage: true });
			await page.screenshot({ path: join(shots, 'dashboard-live.png'), fullPage: true });

			// back to the address the next steps expect
			const back = await dyndns2(ctx.base, 'home.example.org', ctx.secret, { hostname: 'home.example.org', myip: '203.0.113.8' });
			assert.match(back.body, /^good /);
			await hostPage.locator('[data-change]').first().getByTestId('timeline-to').getByText('203.0.113.8', { exact: true }).waitFor();
		} finally {
			await hostPage.close();
		}
	});

	it('shows a record the provider refuses as failed, with its answer', async () => {
		await page.goto(ctx.hostURL);
		await page.getByRole('link', { name: 'Add record' }).click();
		await page.getByLabel('DNS name (FQDN)').fill('broken.example.org');
		await page.getByTestId('preview-ipv4').getByText('203.0.113.8', { exact: true }).waitFor();
		await page.getByRole('button', { name: 'Create record' }).click();
		await page.getByRole('heading', { name: 'broken.example.org', level: 1 }).waitFor();
		// the record page follows the delivery without a reload
		await page.locator('[data-family="4"] [data-state="failed"]').waitFor();
		await page.getByText('badauth').first().waitFor();
		// what to do, in plain words, next to the provider's answer
		await page.getByTestId('advice-4').getByText(/refused the username or password: check the record's credentials/).waitFor();
		assert.equal(await page.getByLabel("Keep the name's other addresses").isChecked(), false);
		ctx.brokenURL = page.url();
		// the service page's Test sends this record's address for real and names the failing step
		await page.goto('/services');
		await page.getByRole('link', { name: 'fake upstream' }).click();
		await page.getByRole('heading', { name: 'fake upstream', level: 1 }).waitFor();
		await page.getByLabel('Record', { exact: true }).selectOption({ label: 'broken.example.org (send its address)' });
		await page.getByRole('button', { name: 'Test', exact: true }).click();
		const sent = page.getByTestId('service-test').locator('[data-step="update sent (A)"]');
		await sent.waitFor();
		assert.equal(await sent.getAttribute('data-status'), 'failed');
		await sent.getByText(/What to do: the provider refused the username or password/).waitFor();
		await page.getByTestId('service-test').getByText(/The test failed/).waitFor();
		await page.goto(ctx.brokenURL);
		await page.getByRole('heading', { name: 'broken.example.org', level: 1 }).waitFor();
		await page.getByRole('link', { name: 'Dashboard' }).click();
		const broken = page.locator('[data-record="broken.example.org"]');
		const cell = broken.locator('[data-family="4"]');
		await cell.locator('[data-state="failed"]').waitFor();
		await cell.getByText('badauth').waitFor();
		// only the broken record needs attention; the figures count its families
		assert.equal(await page.locator('[data-record]').count(), 1);
		const families = await broken.locator('[data-state="failed"], [data-state="retrying"], [data-state="blocked"]').count();
		await page.getByTestId('failing-count').getByText(String(families), { exact: true }).waitFor();
		const service = page.locator('[data-service]');
		assert.equal(await service.count(), 1);
		const counts = await service.locator('td').allTextContents();
		assert.equal(counts.slice(1).reduce((a, b) => a + Number(b), 0), families, "the service's failing count");
		await page.screenshot({ path: join(shots, 'dashboard-failing.png'), fullPage: true });
	});

	it('keeps the page across a reload (the session comes back from the refresh cookie)', async () => {
		await page.goto(ctx.hostURL);
		await page.reload();
		await page.getByRole('heading', { name: 'home.example.org', level: 1 }).waitFor();
		assert.equal(page.url(), ctx.hostURL);
	});

	it('shows the API\'s answer on the error page when a page cannot load its data', async () => {
		for (const [path, what] of [['/hosts/999999', 'host 999999'], ['/records/999999', 'record 999999'], ['/webhooks/999999', 'webhook 999999']]) {
			await page.goto(path);
			await page.getByRole('heading', { name: 'Not found', level: 1 }).waitFor();
			const error = page.getByTestId('page-error');
			assert.match(await error.textContent(), new RegExp(`${what} does not exist.*\\(404\\)`));
			assert.equal(await page.getByText('Loading…').count(), 0);
			// trying again asks the API again, and says the same
			await page.getByRole('button', { name: 'Try again' }).click();
			await page.getByTestId('page-error').getByText(`${what} does not exist`).waitFor();
		}
		// the app goes on: the next page loads as usual
		await page.getByRole('link', { name: 'dashboard', exact: true }).click();
		await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
		await page.goto(ctx.hostURL);
		await page.getByRole('heading', { name: 'home.example.org', level: 1 }).waitFor();
	});

	it('rotates the secret after confirmation, and the old one is refused', async () => {
		await page.getByRole('button', { name: 'Rotate secret' }).click();
		const dialog = page.getByRole('dialog', { name: 'Replace the update secret?' });
		await dialog.waitFor();
		await dialog.getByRole('button', { name: 'Replace secret' }).click();
		await page.getByText('The old one no longer works.').waitFor();
		const fresh = (await page.getByTestId('secret').textContent()).trim();
		assert.notEqual(fresh, ctx.secret);
		// the setup now carries the new secret
		const panel = page.getByTestId('setup-panel');
		await panel.getByRole('tab', { name: 'curl' }).click();
		await waitFor(async () => (await panel.getByTestId('setup-code').textContent()).includes(`-u 'home.example.org:${fresh}'`), 'the curl setup with the new secret');

		const old = await dyndns2(ctx.base, 'home.example.org', ctx.secret, { myip: '203.0.113.9' });
		assert.equal(old.status, 401);
		assert.equal(old.body, 'badauth');
		const ok = await dyndns2(ctx.base, 'home.example.org', fresh, { myip: '203.0.113.8' });
		assert.equal(ok.status, 200, ok.body);
		assert.match(ok.body, /^(good|nochg) 203\.0\.113\.8/);
	});

	it('refuses to delete a host that still has records, saying why', async () => {
		await page.getByRole('button', { name: 'Delete', exact: true }).click();
		await page.getByRole('alert').getByText(/still has 3 records/).waitFor();
	});

	it('fills the new-service form from the deSEC and he.net presets', async () => {
		await page.goto('/services/new');
		const preset = page.getByLabel('Start from a provider');
		await preset.locator('option', { hasText: 'deSEC (dedyn.io)' }).waitFor({ state: 'attached' });
		await preset.selectOption({ label: 'deSEC (dedyn.io)' });
		assert.equal(await page.getByLabel('Protocol', { exact: true }).inputValue(), 'http');
		assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'deSEC (dedyn.io)');
		assert.equal(
			await page.getByLabel('URL', { exact: true }).inputValue(),
			'https://update.dedyn.io/nic/update?hostname={fqdn}&myipv4={ip}&myipv6=preserve'
		);
		assert.match(await page.getByLabel('URL for IPv6', { exact: true }).inputValue(), /myipv4=preserve&myipv6=\{ip\}$/);
		assert.equal(await page.getByLabel('Headers', { exact: true }).inputValue(), 'Authorization: Token {password}');
		assert.equal(await page.getByLabel('Success status', { exact: true }).inputValue(), '200');
		const info = page.getByTestId('preset-info');
		await info.getByText(/Each record's password: Token\./).waitFor();
		assert.match(await info.getByRole('link', { name: 'deSEC (dedyn.io) documentation' }).getAttribute('href'), /^https:\/\/desec\.readthedocs\.io\//);
		// http services have no credential of their own
		assert.equal(await page.locator('#svc-credential').count(), 0);

		// he.net, chosen with the keyboard
		await preset.focus();
		await preset.selectOption('he.net');
		assert.equal(await page.getByLabel('Protocol', { exact: true }).inputValue(), 'dyndns2');
		assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Hurricane Electric (dns.he.net)');
		assert.equal(await page.getByLabel('Update URL').inputValue(), 'https://dyn.dns.he.net/nic/update');
		assert.equal(await page.getByLabel("Username is the record's name").isChecked(), true);
		assert.equal(await page.getByLabel('Both families in one request').isChecked(), false);
		await info.getByText(/Each record's password: DDNS key\./).waitFor();
		await page.locator('.service-form').screenshot({ path: join(shots, 'service-preset.png') });

		// cloudflare asks for the service's API token, and the API's error lands next to it
		await preset.selectOption('cloudflare');
		await page.getByLabel('API token', { exact: true }).waitFor();
		await page.getByRole('button', { name: 'Create service' }).click();
		await page.locator('#svc-credential-error').getByText(/required/).waitFor();
		assert.equal(await page.getByLabel('API token', { exact: true }).getAttribute('aria-invalid'), 'true');
	});

	it('offers the protocols by their titles and shows the fields the server describes', async () => {
		await page.goto('/services/new');
		const protocol = page.getByLabel('Protocol', { exact: true });
		await protocol.locator('option', { hasText: 'Cloudflare (API v4)' }).waitFor({ state: 'attached' });
		const titles = await protocol.locator('option').allTextContents();
		assert.ok(titles.includes('Cloudflare (API v4)'), `protocol titles ${titles}`);
		await protocol.selectOption({ label: 'Cloudflare (API v4)' });
		const settings = page.locator('fieldset.settings');
		await settings.locator('legend').getByText('Cloudflare (API v4) settings').waitFor();
		assert.deepEqual(await settings.locator(':is(input, select, textarea)').evaluateAll((els) => els.map((e) => e.id)), [
			'svc-set-zone',
			'svc-set-zone_id',
			'svc-set-ttl',
			'svc-set-proxied',
			'svc-set-api_url',
			'svc-set-drift_resolver',
			'svc-set-drift_interval'
		]);
		assert.equal(await page.getByLabel('TTL', { exact: true }).getAttribute('type'), 'number');
		assert.equal(await page.getByLabel('TTL', { exact: true }).getAttribute('placeholder'), '1');
		await page.getByText(/Zone → DNS → Edit/).first().waitFor(); // the credential's help, from the description
		// A service of it, created with what the form sent: its settings come back in the form.
		const api = `http://127.0.0.1:${await freePort()}/client/v4`;
		await page.getByLabel('Name', { exact: true }).fill('cf by title');
		await page.getByLabel('Zone', { exact: true }).fill('example.org');
		await page.getByLabel('TTL', { exact: true }).fill('120');
		await page.getByLabel('API URL', { exact: true }).fill(api);
		await page.getByLabel('API token', { exact: true }).fill('x'.repeat(40));
		await page.getByRole('button', { name: 'Create service' }).click();
		await page.getByRole('heading', { name: 'cf by title', level: 1 }).waitFor();
		assert.equal(await page.getByLabel('Zone', { exact: true }).inputValue(), 'example.org');
		assert.equal(await page.getByLabel('TTL', { exact: true }).inputValue(), '120');
		assert.equal(await page.getByLabel('API URL', { exact: true }).inputValue(), api);
		await page.getByRole('button', { name: 'Delete' }).click();
		await page.getByRole('button', { name: 'Delete service' }).click();
		await page.getByRole('heading', { name: 'Services', level: 1 }).waitFor();
	});

	it('creates a webhook and sends it a signed test, shown in a live region', async () => {
		ctx.receiver = await webhookReceiver();
		const secret = `whsec-${randomBytes(6).toString('hex')}`;
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
		await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
		await page.getByText('No webhooks yet').waitFor();
		await page.getByRole('link', { name: 'New webhook' }).click();
		await page.getByLabel('Name', { exact: true }).fill('e2e receiver');
		await page.getByLabel('Receiver URL').fill('not a url');
		await page.getByRole('button', { name: 'Create webhook' }).click();
		await page.locator('#wh-url-error').waitFor();
		assert.equal(await page.getByLabel('Receiver URL').getAttribute('aria-invalid'), 'true');

		await page.getByLabel('Receiver URL').fill(`http://127.0.0.1:${ctx.receiver.port}/hook`);
		await page.getByLabel('Secret (optional)').fill(secret);
		for (const e of ['delivery.failed', 'delivery.blocked', 'delivery.recovered', 'host.stale']) {
			assert.equal(await page.getByRole('checkbox', { name: new RegExp(e.replace('.', '\\.')) }).isChecked(), true, e);
		}
		await page.getByRole('button', { name: 'Create webhook' }).click();
		await page.getByRole('heading', { name: 'e2e receiver', level: 1 }).waitFor();
		await page.getByText('Nothing sent yet.').waitFor();

		const result = page.getByTestId('test-result');
		assert.equal(await result.getAttribute('aria-live'), 'polite');
		await page.getByRole('button', { name: 'Send test' }).press('Enter');
		await result.getByText(/^Delivered: the receiver answered HTTP 204 in \d+ ms\.$/).waitFor();
		await result.locator('[data-delivered="true"]').waitFor();

		// The webhook subscribes to every event, so real notifications of the
		// earlier steps (the failed record) may arrive too: pick the test.
		const got = ctx.receiver.requests.filter((r) => r.headers['x-ddnsbroker-event'] === 'webhook.test');
		assert.equal(got.length, 1, JSON.stringify(ctx.receiver.requests));
		assert.equal(got[0].method, 'POST');
		assert.equal(got[0].path, '/hook');
		const signature = `sha256=${createHmac('sha256', secret).update(got[0].body).digest('hex')}`;
		assert.equal(got[0].headers['x-ddnsbroker-signature'], signature);
		assert.equal(JSON.parse(got[0].body).event, 'webhook.test');
		// the test is also the webhook's last attempt
		await page.getByRole('region', { name: 'Last attempt' }).getByText('HTTP 204').waitFor();
		await page.screenshot({ path: join(shots, 'webhook-test.png'), fullPage: true });

		await page.getByRole('link', { name: 'Webhooks', exact: true }).first().click();
		await page.getByRole('link', { name: 'e2e receiver' }).waitFor();
	});

	it('adds a notification channel from a service form, sends it a test and sets a heartbeat, never showing their URLs', async () => {
		const port = ctx.receiver.port;
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notifications' }).click();
		await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
		// the webhook of the step before is a channel too
		await page.getByRole('link', { name: 'e2e receiver' }).waitFor();
		await page.getByRole('link', { name: 'New channel' }).click();
		await page.getByLabel('Name', { exact: true }).fill('e2e channel');
		await page.getByLabel('Service', { exact: true }).selectOption('ntfy');
		await page.getByLabel('Server', { exact: true }).fill(`http://127.0.0.1:${port}`);
		await page.getByLabel('Topic', { exact: true }).fill(''); // no topic: Shoutrrr cannot read the URL
		await page.getByRole('button', { name: 'Create channel' }).click();
		await page.locator('#nt-server-error').waitFor(); // the API refused the URL: shown at the form's first field

		await page.getByLabel('Service', { exact: true }).selectOption('generic');
		await page.getByLabel('Endpoint URL', { exact: true }).fill(`http://127.0.0.1:${port}/channel/secret-path-4471`);
		await page.getByRole('checkbox', { name: /address\.changed/ }).check();
		await page.getByRole('button', { name: 'Create channel' }).click();
		await page.getByRole('heading', { name: 'e2e channel', level: 1 }).waitFor();
		await page.getByText(`generic://127.0.0.1:${port}`, { exact: true }).waitFor();

		const result = page.getByTestId('test-result');
		await page.getByRole('button', { name: 'Send test' }).click();
		await result.getByText(/^Delivered in \d+ ms\.$/).waitFor();
		const got = ctx.receiver.requests.filter((r) => r.path.startsWith('/channel/'));
		assert.equal(got.length, 1, JSON.stringify(got));
		assert.equal(got[0].path, '/channel/secret-path-4471');
		assert.equal(JSON.parse(got[0].body).event, 'webhook.test');
		assert.ok(!(await page.content()).includes('secret-path-4471'), 'the page shows the destination URL');

		// the broker's heartbeat: the monitor hears from it soon after it is set
		await page.getByRole('link', { name: 'Notifications', exact: true }).first().click();
		await page.getByLabel('Ping URL', { exact: true }).fill(`http://127.0.0.1:${port}/ping/hb-secret-9034`);
		await page.getByRole('button', { name: 'Save heartbeat' }).click();
		await page.getByTestId('heartbeat').getByText(`http://127.0.0.1:${port}`, { exact: true }).waitFor();
		assert.ok(!(await page.content()).includes('hb-secret-9034'), 'the page shows the heartbeat URL');
		await waitFor(() => ctx.receiver.requests.some((r) => r.method === 'GET' && r.path.startsWith('/ping/hb-secret-9034')), 'the heartbeat ping', 30_000);
		await page.screenshot({ path: join(shots, 'notifications.png'), fullPage: true });
	});

	it('filters the hosts by stale', async () => {
		await page.goto('/hosts?stale=true');
		await page.getByText('No stale hosts').waitFor();
		await page.getByLabel('Seen', { exact: true }).selectOption('');
		await page.getByRole('link', { name: 'home.example.org' }).waitFor();
		await page.waitForURL(/\/hosts$/);
		await page.getByLabel('Seen', { exact: true }).selectOption('false');
		await page.getByRole('link', { name: 'home.example.org' }).waitFor();
		await page.waitForURL(/\/hosts\?stale=false$/);
	});

	it('keeps the fields of a family the host does not track inactive, and says each warning once', async () => {
		await page.goto('/hosts/new');
		await page.getByLabel('FQDN').fill('v4only.example.org');
		await page.getByLabel('Track IPv6').uncheck();
		await page.getByRole('button', { name: 'Create host' }).click();
		await page.getByRole('heading', { name: 'v4only.example.org', level: 1 }).waitFor();
		ctx.v4onlyURL = page.url();

		// a resync with nothing to send says so, and why
		await page.getByRole('button', { name: 'Resync all records' }).click();
		await page.getByRole('status').getByText('Nothing to send: this host has no records yet.').waitFor();

		await page.getByRole('button', { name: 'Set addresses by hand' }).click();
		assert.equal(await page.getByLabel('IPv4', { exact: true }).isDisabled(), false);
		assert.equal(await page.getByLabel('IPv6', { exact: true }).isDisabled(), true);
		assert.equal(await page.getByLabel('IPv6 prefix').isDisabled(), true);
		await page.getByText('This host does not track IPv6').first().waitFor();
		await page.getByRole('button', { name: 'Cancel' }).click();

		await page.getByRole('link', { name: 'Add record' }).click();
		await page.getByRole('heading', { name: 'New record' }).waitFor();
		const off = 'IPv6 is turned off on the host: nothing is sent for IPv6';
		await page.getByText(off).waitFor();
		assert.equal(await page.locator('#rf-ipv6-netmask').isDisabled(), true);
		assert.equal(await page.locator('#rf-ipv6-ident').isDisabled(), true);
		assert.equal(await page.locator('#rf-ipv4-netmask').isDisabled(), false);
		// a family the record does not publish: inactive too
		await page.getByLabel('Publish an A record').uncheck();
		assert.equal(await page.locator('#rf-ipv4-netmask').isDisabled(), true);
		await page.getByLabel('Publish an A record').check();
		await page.getByRole('button', { name: 'Create record' }).click();
		await page.getByRole('heading', { name: 'v4only.example.org', level: 1 }).waitFor();
		await page.getByRole('button', { name: 'Resync', exact: true }).waitFor();
		await page.getByText(off).waitFor();
		assert.equal(await page.getByText(off).count(), 1, 'the record page repeats a warning');
		await page.getByRole('button', { name: 'Resync', exact: true }).click();
		await page.getByRole('status').getByText(/^Nothing to send: the record has no address yet/).waitFor();
	});

	it('shows the version in the footer, and the first-password hint stays away once put off', async () => {
		const { version } = await (await fetch(`${ctx.base}/healthz`)).json();
		await page.goto('/');
		await page.getByTestId('version').getByText(`DDnsBroker ${version}`, { exact: true }).waitFor();
		const hint = page.getByTestId('first-login-hint');
		await hint.waitFor();
		await hint.getByRole('button', { name: 'Not now' }).click();
		await hint.waitFor({ state: 'detached' });
		await page.reload();
		await page.getByTestId('version').getByText(`DDnsBroker ${version}`, { exact: true }).waitFor();
		assert.equal(await hint.count(), 0, 'the first-password hint came back after a reload');
	});

	it('switches between light and dark, following the system until told otherwise', async () => {
		const theme = () => page.evaluate(() => [document.documentElement.dataset.theme, getComputedStyle(document.documentElement).backgroundColor]);
		await page.emulateMedia({ colorScheme: 'light' });
		await page.goto('/');
		assert.deepEqual(await theme(), ['light', 'rgb(246, 247, 249)']);
		await page.emulateMedia({ colorScheme: 'dark' });
		await waitFor(async () => (await theme())[0] === 'dark', 'the theme to follow the system');
		await page.getByTestId('theme').selectOption('light');
		assert.deepEqual(await theme(), ['light', 'rgb(246, 247, 249)']);
		await page.reload();
		await page.getByTestId('theme').waitFor();
		assert.deepEqual(await theme(), ['light', 'rgb(246, 247, 249)'], 'the choice did not last a reload');
		assert.equal(await page.getByTestId('theme').inputValue(), 'light');
		await page.getByTestId('theme').selectOption('dark');
		await page.emulateMedia({ colorScheme: 'light' });
		assert.deepEqual(await theme(), ['dark', 'rgb(15, 18, 22)']);
		await page.getByTestId('theme').selectOption('system');
		assert.deepEqual(await theme(), ['light', 'rgb(246, 247, 249)']);
	});

	it('has no serious accessibility violation on the main pages (axe-core)', async () => {
		// axe is loaded once, evaluated over the DevTools protocol (the page's
		// CSP does not apply); the app then moves between pages without a reload.
		await page.goto('/');
		await page.getByTestId('failing-count').waitFor();
		await page.evaluate(axeSource);
		const nav = page.getByRole('navigation', { name: 'Main' });
		const steps = [
			['Dashboard', () => nav.getByRole('link', { name: 'Dashboard' }).click(), '[data-testid="failing-count"]'],
			['Hosts', () => nav.getByRole('link', { name: 'Hosts' }).click(), 'h1:text("Hosts")'],
			['a host', () => page.getByRole('link', { name: 'home.example.org' }).first().click(), '[data-record="nas.example.org"]'],
			['Records', () => nav.getByRole('link', { name: 'Records' }).click(), '[data-record]'],
			['a record', () => page.getByRole('link', { name: 'broken.example.org' }).first().click(), 'h1:text("broken.example.org")'],
			['Services', () => nav.getByRole('link', { name: 'Services' }).click(), 'h1:text("Services")'],
			['a service', () => page.getByRole('link', { name: 'fake upstream' }).first().click(), 'h1:text("fake upstream")'],
			['Webhooks', () => nav.getByRole('link', { name: 'Webhooks' }).click(), 'h1:text("Webhooks")'],
			['History', () => nav.getByRole('link', { name: 'History' }).click(), '.events'],
			['Users', () => nav.getByRole('link', { name: 'Users & tokens' }).click(), 'h1'],
			['Account', () => nav.getByRole('link', { name: 'Account' }).click(), 'h1:text("Account")']
		];
		const found = [];
		for (const [name, go, ready] of steps) {
			await go();
			await page.locator(ready).first().waitFor();
			const violations = await page.evaluate(async () => {
				// eslint-disable-next-line no-undef
				const r = await axe.run(document, { resultTypes: ['violations'] });
				return r.violations
					.filter((v) => v.impact === 'serious' || v.impact === 'critical')
					.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
			});
			for (const v of violations) found.push(`${name}: ${v}`);
		}
		assert.deepEqual(found, []);
	});

	it('fits a phone: no page scrolls sideways', async () => {
		// a long name is what widens a page
		await page.goto('/hosts/new');
		await page.getByLabel('FQDN').fill('a-rather-long-router-name-for-the-phone-test.branch-office.example.org');
		await page.getByRole('button', { name: 'Create host' }).click();
		await page.getByRole('heading', { level: 1, name: /^a-rather-long-router-name/ }).waitFor();
		const longHost = page.url();
		await page.setViewportSize({ width: 390, height: 844 });
		const pages = [
			['/', '[data-testid="failing-count"]'],
			['/hosts', 'h1'],
			[longHost, 'h1'],
			[ctx.hostURL, '[data-record="nas.example.org"]'],
			['/records', '[data-record], h1'],
			['/records/new', '.record-form'],
			['/services', 'h1'],
			['/services/new', '.service-form'],
			['/webhooks', 'h1'],
			['/notifiers', 'h1'],
			['/history', 'h1'],
			['/users', 'h1'],
			['/account', 'h1']
		];
		for (const [path, ready] of pages) {
			await page.goto(path);
			await page.locator(ready).first().waitFor();
			await page.waitForTimeout(300);
			const [scroll, inner] = await page.evaluate(() => [document.scrollingElement.scrollWidth, window.innerWidth]);
			const name = path === longHost ? 'host-long' : path === ctx.hostURL ? 'host' : path.replaceAll('/', '-').replace(/^-/, '') || 'dashboard';
			await page.screenshot({ path: join(shots, `phone-${name}.png`), fullPage: true });
			assert.ok(scroll <= inner, `${path} is ${scroll} px wide on a ${inner} px phone`);
		}
		await page.setViewportSize({ width: 1280, height: 900 });
	});

	it('repoints a service: its records need their passwords again', async () => {
		await page.goto('/services');
		await page.getByRole('link', { name: 'fake upstream' }).click();
		await page.getByRole('heading', { name: 'fake upstream', level: 1 }).waitFor();
		const closed = await freePort(); // nothing listens there: deliveries simply wait
		await page.getByLabel('Update URL').fill(`http://127.0.0.1:${closed}/nic/update`);
		const change = page.getByTestId('destination-change');
		await change.getByText(/passwords of its records \(\d+\) are removed/).waitFor();
		await change.screenshot({ path: join(shots, 'service-destination-change.png') });
		await page.getByRole('button', { name: 'Save service' }).click();
		await page.getByText(/Service saved/).waitFor();
		await page.goto('/records');
		const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'nas.example.org' }) });
		await row.getByText('needs credentials').waitFor();
		await row.getByRole('link', { name: 'nas.example.org' }).click();
		await page.getByText(/destination changed, so (the password stored for the old one|its stored password) was removed/).first().waitFor();
		await page.getByLabel('Password').fill('uppass-for-the-new-url');
		await page.getByRole('button', { name: 'Save record' }).click();
		await page.getByText('Record saved.').waitFor(); // leaving earlier could cancel the save
		await page.goto('/records');
		await page.getByRole('link', { name: 'nas.example.org' }).waitFor();
		const before = await page.getByText('needs credentials').count();

		// Back to the real upstream, confirmed with the admin's password:
		// the records keep their passwords this time.
		await page.goto('/services');
		await page.getByRole('link', { name: 'fake upstream' }).click();
		await page.getByLabel('Update URL').fill(`http://127.0.0.1:${ctx.upstream.port}/nic/update`);
		await page.getByLabel("Your password (keeps the records' passwords)").fill(ADMIN_PASSWORD);
		await page.getByRole('button', { name: 'Save service' }).click();
		await page.getByText(/Service saved/).waitFor();
		await page.goto('/records');
		await page.getByRole('link', { name: 'nas.example.org' }).waitFor();
		assert.equal(await row.getByText('needs credentials').count(), 0);
		assert.equal(await page.getByText('needs credentials').count(), before);
	});

	it('changes the password with the current one, staying logged in', async () => {
		await page.goto('/account');
		await page.getByLabel('Current password').fill('not the password');
		await page.getByLabel('New password', { exact: true }).fill('a-new-e2e-password');
		await page.getByLabel('New password again').fill('a-new-e2e-password');
		await page.getByRole('button', { name: 'Change password' }).click();
		await page.getByRole('alert').getByText(/wrong/).waitFor();
		await page.getByLabel('Current password').fill(ADMIN_PASSWORD);
		await page.getByRole('button', { name: 'Change password' }).click();
		await page.getByText(/Your password was changed/).waitFor();
		await page.goto('/hosts');
		await page.getByRole('link', { name: 'home.example.org' }).waitFor();
	});

	it('works on a phone-sized screen', async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		await page.goto('/');
		await page.getByTestId('failing-count').waitFor();
		await page.getByRole('button', { name: 'Menu' }).click();
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
		await page.getByRole('heading', { name: 'History', level: 1 }).waitFor();
		// earlier steps leave many newer events: ask for the address changes
		await page.getByLabel('What').selectOption('address.');
		await page.locator('[data-kind="address.changed"]').first().getByText('Address changed').waitFor();
		await page.goto('/');
		await page.locator('[data-record="broken.example.org"] [data-state="failed"]').first().waitFor();
		await page.screenshot({ path: join(shots, 'dashboard-phone.png'), fullPage: true });
		// the new pages fit the screen: no sideways scrolling
		const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
		await page.goto('/webhooks');
		await page.getByRole('link', { name: 'e2e receiver' }).waitFor();
		assert.ok(await fits(), 'the webhooks list is wider than the phone');
		await page.goto('/services/new');
		const preset = page.getByLabel('Start from a provider');
		await preset.locator('option', { hasText: 'deSEC (dedyn.io)' }).waitFor({ state: 'attached' });
		await preset.selectOption('desec');
		await page.getByTestId('preset-info').waitFor();
		assert.ok(await fits(), 'the service form is wider than the phone');
		await page.screenshot({ path: join(shots, 'service-form-phone.png'), fullPage: true });
		// the system's dark preference
		await page.emulateMedia({ colorScheme: 'dark' });
		await page.setViewportSize({ width: 1280, height: 900 });
		// the new scheme can take a frame or two to apply under load: wait (bounded) for the dark background
		const darkBg = 'rgb(15, 18, 22)';
		await page.waitForFunction((want) => getComputedStyle(document.documentElement).backgroundColor === want, darkBg, { timeout: 5000 });
		const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
		assert.equal(bg, darkBg);
		await page.screenshot({ path: join(shots, 'dashboard-dark.png'), fullPage: true });
		await page.emulateMedia({ colorScheme: 'light' });
	});

	it('derives a record from a MAC, a subnet id and a static address, previewing each step', async () => {
		await page.goto(ctx.hostURL);
		await page.getByRole('button', { name: 'Set addresses by hand' }).click();
		await page.getByLabel('IPv6 prefix').fill('2001:db8:aa00::/56');
		await page.getByRole('button', { name: 'Save addresses' }).click();
		await page.getByRole('button', { name: 'Set addresses by hand' }).waitFor();
		await page.getByText('2001:db8:aa00::/56').first().waitFor();
		await page.getByText('(set by hand)').first().waitFor();

		await page.getByRole('link', { name: 'Add record' }).click();
		await page.getByRole('heading', { name: 'New record' }).waitFor();
		await page.getByLabel('DNS name (FQDN)').fill('printer.example.org');
		await page.locator('#rf-ipv6-mac').fill('00-11-22-33-44-55');
		await page.locator('#rf-ipv6-subnet').fill('1');
		// prefix 2001:db8:aa00::/56, subnet 1, EUI-64 of the MAC
		const v6 = page.getByTestId('preview-ipv6');
		await v6.getByText('2001:db8:aa00:1:211:22ff:fe33:4455', { exact: true }).waitFor();
		const steps6 = page.getByTestId('derivation-6');
		await steps6.getByText('2001:db8:aa00::/56', { exact: true }).waitFor();
		await steps6.getByText('2001:db8:aa00:1::/64', { exact: true }).waitFor();
		await steps6.getByText('::211:22ff:fe33:4455', { exact: true }).waitFor();
		await steps6.getByText('00:11:22:33:44:55', { exact: true }).waitFor();
		await steps6.getByText(/set by hand/).waitFor();
		// an id the /56 cannot hold: the field says so as you type
		await page.locator('#rf-ipv6-subnet').fill('0x100');
		await page.getByText(/does not fit in the 8 bits between \/56 and \/64/).first().waitFor();
		await page.locator('#rf-ipv6-subnet').fill('0x1f');
		await v6.getByText('2001:db8:aa00:1f:211:22ff:fe33:4455', { exact: true }).waitFor();
		// a static IPv4 address, whatever the host reports
		await page.locator('#rf-ipv4-mode').selectOption('static');
		await page.locator('#rf-ipv4-static').fill('198.51.100.80');
		await page.getByTestId('preview-ipv4').getByText('198.51.100.80', { exact: true }).waitFor();
		await page.getByTestId('derivation-4').getByText(/static address/).waitFor();
		// one of several sites feeding the name: it leaves the name while its router is silent
		const dropWhenStale = page.getByLabel('Leave the shared name while the router is silent');
		assert.equal(await dropWhenStale.isChecked(), false);
		await dropWhenStale.check();
		await page.locator('.record-form').screenshot({ path: join(shots, 'record-form-sources.png') });
		await page.getByRole('button', { name: 'Create record' }).click();
		await page.getByRole('heading', { name: 'printer.example.org', level: 1 }).waitFor();
		// the saved record keeps what it was made from, read back from the server
		await page.reload();
		await page.getByRole('heading', { name: 'printer.example.org', level: 1 }).waitFor();
		assert.equal(await page.locator('#rf-ipv6-mac').inputValue(), '00:11:22:33:44:55');
		assert.equal(await page.locator('#rf-ipv6-subnet').inputValue(), '0x1f');
		assert.equal(await page.locator('#rf-ipv4-static').inputValue(), '198.51.100.80');
		assert.equal(await dropWhenStale.isChecked(), true);
		await page.getByTestId('preview-ipv6').getByText('2001:db8:aa00:1f:211:22ff:fe33:4455', { exact: true }).waitFor();
		// unticked and saved, it stays in the name whatever its router does
		await dropWhenStale.uncheck();
		await page.getByRole('button', { name: 'Save record' }).click();
		await page.getByText('Record saved.').first().waitFor();
		await page.reload();
		await page.getByRole('heading', { name: 'printer.example.org', level: 1 }).waitFor();
		assert.equal(await dropWhenStale.isChecked(), false);
	});

	it('adds a user account with its role, and an admin sees and filters hosts by owner', async () => {
		await page.setViewportSize({ width: 1280, height: 900 });
		await page.goto('/users');
		await page.getByLabel('User name').fill('erin');
		await page.getByLabel('Password', { exact: true }).fill(USER_PASSWORD);
		await page.getByLabel('Role', { exact: true }).selectOption('user');
		await page.getByRole('button', { name: 'Add account' }).click();
		await page.getByText('Created the account erin.').waitFor();
		assert.equal(await page.getByLabel('Role of erin').inputValue(), 'user');
		// the admin gives erin a host through the API
		const login = await fetch(`${ctx.base}/api/v1/auth/login`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ username: 'admin', password: 'a-new-e2e-password' }) // changed by an earlier test
		});
		const loggedIn = await login.json();
		assert.equal(login.status, 200, JSON.stringify(loggedIn));
		const token = loggedIn.access_token;
		const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
		const listed = await fetch(`${ctx.base}/api/v1/users`, { headers: auth });
		const users = await listed.json();
		assert.equal(listed.status, 200, JSON.stringify(users));
		const erin = users.items.find((u) => u.username === 'erin');
		assert.equal(erin.role, 'user');
		const created = await fetch(`${ctx.base}/api/v1/hosts`, {
			method: 'POST',
			headers: auth,
			body: JSON.stringify({ fqdn: 'erin.example.org', owner_id: erin.id })
		});
		assert.equal(created.status, 201);
		await page.goto('/hosts');
		await page.getByRole('link', { name: 'erin.example.org' }).waitFor();
		await page.getByRole('link', { name: 'home.example.org' }).waitFor();
		await page.getByLabel('Owner', { exact: true }).selectOption({ label: 'erin' });
		await page.waitForURL(new RegExp(`/hosts\\?owner_id=${erin.id}$`));
		await page.getByRole('link', { name: 'home.example.org' }).waitFor({ state: 'detached' });
		await page.getByRole('link', { name: 'erin.example.org' }).waitFor();
		assert.equal((await page.getByTestId('host-owner').first().textContent()).trim(), 'erin');
	});

	it('enrols two-factor sign-in by reading the QR secret, then signs in with a code', async () => {
		await page.setViewportSize({ width: 1280, height: 900 });
		await page.goto('/account');
		await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
		await page.getByRole('img', { name: 'QR code of the two-factor secret' }).waitFor();
		const secret = (await page.getByTestId('otp-secret').textContent()).trim();
		assert.match(secret, /^[A-Z2-7]{16,}$/);
		await page.getByLabel('Code from the app').fill(totp(secret));
		await page.getByRole('button', { name: 'Turn on' }).click();
		await page.getByTestId('recovery-codes').waitFor();
		assert.equal(await page.getByTestId('recovery-codes').locator('li').count(), 10);
		await page.getByText(/On: signing in needs a code/).waitFor();
		await page.screenshot({ path: join(shots, 'two-factor.png'), fullPage: true });

		await page.getByRole('button', { name: 'Log out' }).click();
		await page.waitForURL(/\/login$/);
		await page.getByLabel('User name').fill('admin');
		await page.getByLabel('Password').fill('a-new-e2e-password');
		await page.getByRole('button', { name: 'Log in' }).click();
		// the password was right: the page asks for the code
		const code = page.getByLabel('Code from your authenticator app');
		await code.waitFor();
		// the code of the next step: this one's was spent confirming
		await code.fill(totp(secret, Date.now() + 30_000));
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.waitForURL((url) => url.pathname === '/');
		await page.getByTestId('failing-count').waitFor();
	});

	it('logs out', async () => {
		await page.setViewportSize({ width: 1280, height: 900 });
		await page.goto('/');
		await page.getByRole('button', { name: 'Log out' }).click();
		await page.waitForURL(/\/login$/);
		await page.goto('/records');
		await page.waitForURL(/\/login\?next=%2Frecords$/);
	});

	it('a user signs in and sees only their hosts', async () => {
		await page.goto('/hosts');
		await page.waitForURL(/\/login\?next=%2Fhosts$/);
		await page.getByLabel('User name').fill('erin');
		await page.getByLabel('Password').fill(USER_PASSWORD);
		await page.getByLabel('Password').press('Enter');
		await page.waitForURL(/\/hosts$/);
		await page.getByRole('link', { name: 'erin.example.org' }).waitFor();
		assert.equal(await page.getByRole('link', { name: 'home.example.org' }).count(), 0, 'erin sees the admin\'s host');
		assert.equal(await page.locator('table tbody tr').count(), 1);
		assert.equal(await page.getByLabel('Owner', { exact: true }).count(), 0, 'a user is offered an owner filter');
		await page.screenshot({ path: join(shots, 'hosts-of-a-user.png'), fullPage: true });
		// the admin's records are not hers
		await page.goto('/records');
		await page.getByText('No records yet').waitFor();
		assert.equal(await page.getByText('nas.example.org').count(), 0);
		// another owner's host is not found, as if it did not exist
		await page.goto(ctx.hostURL);
		await page.getByRole('heading', { name: 'Not found', level: 1 }).waitFor();
		// her account only, with no way to add one
		await page.goto('/users');
		await page.getByRole('heading', { name: 'Your account' }).waitFor();
		assert.equal(await page.getByRole('button', { name: 'Add account' }).count(), 0);
		assert.equal((await page.getByTestId('user-role').textContent()).trim(), 'user');
		await page.getByRole('button', { name: 'Log out' }).click();
		await page.waitForURL(/\/login$/);
	});

	it('ran without Content-Security-Policy violations', () => {
		assert.deepEqual(cspViolations, []);
	});
});
