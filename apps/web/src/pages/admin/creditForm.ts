/** The credit amount and reason, checked the way the server checks them (it checks again). */
export function checkCredit(amount: string, reason: string): { errors: Record<string, string>; amount: number; reason: string } {
  const errors: Record<string, string> = {};
  const n = Number(amount);
  if (!amount.trim() || !Number.isInteger(n)) errors.amount = 'Enter a whole number, e.g. 500 or -200.';
  else if (n === 0) errors.amount = 'The amount cannot be 0.';
  else if (Math.abs(n) > 1_000_000_000) errors.amount = 'At most 1,000,000,000 either way.';
  if (!reason.trim()) errors.reason = 'Say why, e.g. “Refund for outage”. It appears in their credit history.';
  else if (reason.trim().length > 200) errors.reason = 'Use at most 200 characters.';
  return { errors, amount: n, reason: reason.trim() };
}
