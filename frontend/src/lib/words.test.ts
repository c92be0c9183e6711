import { describe, expect, it } from 'vitest';
import { durationText, eventKindText, eventText, eventTone } from './words';

describe('plain words', () => {
	it('says every event kind as a sentence, not a code', () => {
		for (const [kind, text] of Object.entries(eventKindText)) {
			expect(text, kind).not.toMatch(/[._]/);
			expect(text.charAt(0), kind).toBe(text.charAt(0).toUpperCase());
		}
		expect(eventText('address.changed')).toBe('Address changed');
		expect(eventText('some.future_kind')).toBe('some.future_kind');
		expect(eventTone('delivery.failed')).toBe('failed');
	});

	it('tells durations in the unit that reads best', () => {
		expect(durationText(850)).toBe('850 ms');
		expect(durationText(1500)).toBe('1.5 s');
		expect(durationText(125_000)).toBe('2 min 5 s');
	});
});
