/** The clock, injectable so tests can move time (lockouts, expiries) without sleeping. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export const iso = (d: Date) => d.toISOString();
export const addMinutes = (d: Date, minutes: number) => new Date(d.getTime() + minutes * 60_000);
