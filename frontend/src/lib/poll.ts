// Runs a refresh every `ms` while the page is visible, never two at once,
// and at once when the page becomes visible again. Returns the stop function.
export function poll(refresh: () => Promise<unknown>, ms: number): () => void {
	let stopped = false;
	let running = false;
	let timer: ReturnType<typeof setTimeout> | undefined;

	async function tick() {
		clearTimeout(timer);
		if (stopped || running) return;
		if (!document.hidden) {
			running = true;
			try {
				await refresh();
			} catch {
				// the next tick tries again; the page shows its own error state
			} finally {
				running = false;
			}
		}
		if (!stopped) timer = setTimeout(tick, ms);
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
