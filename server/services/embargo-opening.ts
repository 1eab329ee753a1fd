/**
 * What an embargo change does to data that are public or closed now: the one rule behind the
 * pages' and the API's second question and behind the audit record's `reembargo` flag.
 */
export interface EmbargoOpening {
  /** the change makes data public earlier than the current date would */
  opensEarlier: boolean;
  /** when the files become world-readable under the new setting: now, or the new date */
  publicFrom: 'now' | string;
  currentEnd?: string;
  /** re-embargo: the data are public (since currentEnd, or without an end) and the change closes them again */
  closesReleased: boolean;
}

/** The effect of moving the embargo end from `current` to `end` (null: no end, public) at `now`. */
export function openingOf(current: Date | undefined, end: Date | null, now: Date): EmbargoOpening {
  const currentEnd = current?.toISOString().slice(0, 10);
  const publicNow = !end || end.getTime() <= now.getTime();
  const releasedNow = !current || current.getTime() <= now.getTime();
  if (releasedNow) return { opensEarlier: false, publicFrom: 'now', closesReleased: !publicNow, ...(currentEnd ? { currentEnd } : {}) };
  const shortened = !!end && end.getTime() < current.getTime();
  return { opensEarlier: publicNow || shortened, publicFrom: publicNow ? 'now' : end!.toISOString().slice(0, 10), closesReleased: false, ...(currentEnd ? { currentEnd } : {}) };
}

/**
 * The effect of changing a rolling campaign's proprietary period from `from` to `to` days (none:
 * every file opens on the campaign date `end`; each file opens at max(end, observation + days)).
 * Before the campaign date nothing is public under either setting, so nothing changes now. Once it
 * has passed (or with no date), a longer period (or a first one) closes released files observed
 * within it again, and a shorter one (or none) opens files earlier.
 */
export function periodChangeOf(end: Date | undefined, from: number | undefined, to: number | null, now: Date): EmbargoOpening {
  const currentEnd = end?.toISOString().slice(0, 10);
  const withEnd = currentEnd ? { currentEnd } : {};
  if (end && end.getTime() > now.getTime()) return { opensEarlier: false, publicFrom: currentEnd!, closesReleased: false, ...withEnd };
  const before = from ?? 0;
  const after = to ?? 0;
  return { opensEarlier: after < before, publicFrom: 'now', closesReleased: after > before, ...withEnd };
}

/** Opening data earlier, or closing released data again, is asked a second time. */
export function asksConfirmation(o: EmbargoOpening): boolean {
  return o.opensEarlier || o.closesReleased;
}
