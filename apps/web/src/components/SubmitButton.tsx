import type { ReactNode } from 'react';
import { Spinner } from './Spinner';
import { button } from './ui';

/** A submit button that shows a spinner and busy text while its mutation runs. */
export function SubmitButton({ pending, children, busy = 'Saving…', className = '', variant = 'primary' }: { pending: boolean; children: ReactNode; busy?: string; className?: string; variant?: keyof typeof button }) {
  return (
    <button type="submit" disabled={pending} aria-disabled={pending} className={`${button[variant]} ${className}`}>
      {pending && <Spinner />}
      {pending ? busy : children}
    </button>
  );
}
