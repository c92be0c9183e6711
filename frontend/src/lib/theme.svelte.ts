// The colour theme: the system's by default, or light or dark as chosen,
// kept in localStorage. static/theme.js applies it before the first paint
// (and follows the system's changes); this changes the choice.

export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'ddnsbroker.theme';

function stored(): ThemeChoice {
	try {
		const v = localStorage.getItem(KEY);
		return v === 'light' || v === 'dark' ? v : 'system';
	} catch {
		return 'system';
	}
}

/** The theme a choice shows now: the system's preference for 'system'. */
export function resolveTheme(choice: ThemeChoice, systemDark: boolean): 'light' | 'dark' {
	return choice === 'dark' || (choice === 'system' && systemDark) ? 'dark' : 'light';
}

class Theme {
	choice = $state<ThemeChoice>(typeof localStorage === 'undefined' ? 'system' : stored());

	set(choice: ThemeChoice): void {
		this.choice = choice;
		try {
			if (choice === 'system') localStorage.removeItem(KEY);
			else localStorage.setItem(KEY, choice);
		} catch {
			// storage blocked: the choice lasts for this page
		}
		const systemDark = window.matchMedia('(prefers-color-scheme: dark)').matches;
		document.documentElement.setAttribute('data-theme', resolveTheme(choice, systemDark));
	}
}

export const theme = new Theme();
