// Runs a refresh every `ms` while the page is visible, never two at once,
// and at once when the page becomes visible again. Returns the stop function.
// The refresh shows its own failures (a Live keeps the last data and says
// why) and should not throw; if it does, the error is not caught here and
// reaches the console, and the next tick runs all the same.
export function poll(refresh: () => Promise<void>, ms: number): () => void {
	let stopped = false;
	let running = false;
	let timer: ReturnType<typeof setTimeout> | undefined;

	async function tick() {
		clearTimeout(timer);
		if (stopped || running) return;
		try {
			if (!document.hidden) {
				running = true;
				await refresh();
			}
		} finally {
			running = false;
			if (!stopped) timer = setTimeout(tick, ms);
		}
	}
	function onVisible() {
		if (!document.hidden) void tick();
	}

	timer = setTimeout(tick, ms);
	document.addEventListener('visibilitychange', onVisible);
	return () => {
		stopped = true;
		clearTimeout(timer);
		document.removeEventListener('visibilitychange', onVisible);
	};
}
