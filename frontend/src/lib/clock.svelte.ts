// One ticking "now" for every relative time on the page.
class Clock {
	now = $state(Date.now());
	#timer: ReturnType<typeof setInterval> | undefined;
	#users = 0;

	/** Starts ticking while at least one caller uses it; returns the stop function. */
	use(): () => void {
		if (this.#users++ === 0) this.#timer = setInterval(() => (this.now = Date.now()), 5000);
		return () => {
			if (--this.#users === 0) clearInterval(this.#timer);
		};
	}
}

export const clock = new Clock();
