import { describe, expect, it } from 'vitest';
import { routerSetups, SECRET_PLACEHOLDER, shellQuote } from './setup';

const byId = (broker: string, secret: string | null = 's3cr3t') =>
	Object.fromEntries(routerSetups({ broker, fqdn: 'home.example.org', secret }).map((s) => [s.id, s]));

describe('router setup', () => {
	it('gives the FRITZ!Box its update URL with the prefix placeholder', () => {
		const fritz = byId('https://ddns.example.net').fritzbox!;
		expect(fritz.fields).toEqual([
			{
				label: 'Update URL',
				value: 'https://ddns.example.net/nic/update?hostname=<domain>&myip=<ipaddr>,<ip6addr>&ip6lanprefix=<ip6lanprefix>'
			},
			{ label: 'Domain name', value: 'home.example.org' },
			{ label: 'User name', value: 'home.example.org' },
			{ label: 'Password', value: 's3cr3t', secret: true }
		]);
	});

	it('writes a ddclient.conf for dyndns2 with the check-IP URL', () => {
		const code = byId('https://ddns.example.net').ddclient!.code!;
		expect(code.split('\n')).toEqual(
			expect.arrayContaining([
				'protocol=dyndns2',
				'use=web, web=https://ddns.example.net/myip',
				'ssl=yes',
				'server=ddns.example.net',
				'login=home.example.org',
				"password='s3cr3t'",
				'home.example.org'
			])
		);
		expect(code).not.toContain('script=');
	});

	it('handles a port, plain http and a path prefix', () => {
		const s = byId('http://10.0.0.2:8080/ddns/');
		expect(s.ddclient!.code).toContain('server=10.0.0.2:8080\nscript=/ddns/nic/update');
		expect(s.ddclient!.code).toContain('ssl=no');
		expect(s.inadyn!.code).toContain('ddns-server    = 10.0.0.2:8080');
		expect(s.inadyn!.code).toContain('ddns-path      = "/ddns/nic/update?hostname=%h&myip=%i"');
		expect(s.inadyn!.code).toContain('ssl            = false');
		expect(s.curl!.code).toContain("'http://10.0.0.2:8080/ddns/nic/update?hostname=home.example.org'");
	});

	it('writes an inadyn custom provider', () => {
		const code = byId('https://ddns.example.net', 'a"b\\c').inadyn!.code!;
		expect(code).toContain('custom ddnsbroker {');
		expect(code).toContain('    ddns-server    = ddns.example.net');
		expect(code).toContain('    ddns-path      = "/nic/update?hostname=%h&myip=%i"');
		expect(code).toContain('    checkip-path   = "/myip"');
		expect(code).toContain('    password       = "a\\"b\\\\c"');
	});

	it('gives OpenWrt an http:// update_url that use_https upgrades', () => {
		const code = byId('https://ddns.example.net').openwrt!.code!;
		expect(code).toContain(
			"option update_url 'http://[USERNAME]:[PASSWORD]@ddns.example.net/nic/update?hostname=[DOMAIN]&myip=[IP]'"
		);
		expect(code).toContain("option use_https '1'");
		expect(code).toContain("config service 'ddnsbroker_v6'");
		expect(code).toContain("option use_ipv6 '1'");
	});

	it('gives pfSense the %IP% URL and a result match', () => {
		const fields = byId('https://ddns.example.net').pfsense!.fields!;
		expect(fields[0]!.value).toBe('https://ddns.example.net/nic/update?hostname=home.example.org&myip=%IP%');
		expect(fields[1]!.value).toBe('good %IP%|nochg %IP%');
	});

	it('quotes the secret for the shell', () => {
		const code = byId('https://ddns.example.net', "it's").curl!.code!;
		expect(code).toContain(`curl -4 -u ${shellQuote("home.example.org:it's")} `);
		expect(shellQuote("it's")).toBe(`'it'\\''s'`);
	});

	it('uses a placeholder when the secret is not known', () => {
		const s = byId('https://ddns.example.net', null);
		expect(s.ddclient!.code).toContain(`password='${SECRET_PLACEHOLDER}'`);
	});
});
