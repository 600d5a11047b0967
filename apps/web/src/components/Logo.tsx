/** The cloud mark, as used in the favicon. */
export function LogoMark({ className = 'h-8 w-8' }: { className?: string }) {
  return (
    <svg viewBox="0 0 32 32" className={className} aria-hidden="true">
      <rect width="32" height="32" rx="8" className="fill-indigo-600 dark:fill-indigo-500" />
      <path d="M10.5 21.5h11a4.5 4.5 0 0 0 .6-8.96A6 6 0 0 0 10.6 14a3.75 3.75 0 0 0-.1 7.5z" fill="#fff" />
    </svg>
  );
}
