const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const numberFmt = new Intl.NumberFormat();

export const formatDate = (iso: string) => dateFmt.format(new Date(iso));
export const formatDateTime = (iso: string) => dateTimeFmt.format(new Date(iso));
export const formatNumber = (n: number) => numberFmt.format(n);

/** +250 / −100 / 0, with a real minus sign. */
export const formatSigned = (n: number) => (n > 0 ? `+${numberFmt.format(n)}` : n < 0 ? `−${numberFmt.format(-n)}` : '0');

export const credits = (n: number) => `${numberFmt.format(n)} ${Math.abs(n) === 1 ? 'credit' : 'credits'}`;
