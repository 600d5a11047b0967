/** A snapshot's billed size: its bytes in (decimal) GB, rounded up; an empty one is 0 GB. Its view and its billing agree on it. */
export const billedGb = (sizeBytes: number) => Math.ceil(Number(sizeBytes) / 1e9);
