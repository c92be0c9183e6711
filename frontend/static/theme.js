// Sets the colour theme before the first paint, so that a dark page never
// flashes light: the one chosen in the app (localStorage "ddnsbroker.theme":
// "light" or "dark"), else the system's, followed as it changes.
// src/lib/theme.svelte.ts changes the choice; the rule is the same there.
(function () {
	var key = 'ddnsbroker.theme';
	var media = window.matchMedia('(prefers-color-scheme: dark)');
	function apply() {
		var chosen = null;
		try {
			chosen = localStorage.getItem(key);
		} catch {
			// storage blocked: follow the system
		}
		var dark = chosen === 'dark' || (chosen !== 'light' && media.matches);
		document.documentElement.setAttribute('data-theme', dark ? 'dark' : 'light');
	}
	apply();
	media.addEventListener('change', apply);
	window.addEventListener('storage', function (e) {
		if (e.key === key) apply();
	});
})();
