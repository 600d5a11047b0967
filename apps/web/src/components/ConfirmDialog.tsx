import type { ReactNode } from 'react';
import { errorMessage } from '../api';
import { Alert } from './Alert';
import { Dialog } from './Dialog';
import { Spinner } from './Spinner';
import { button } from './ui';

interface ConfirmDialogProps {
  open: boolean;
  onClose: () => void;
  title: string;
  /** What happens, in a sentence or two. */
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  pending: boolean;
  /** The server's refusal, shown above the buttons. */
  error?: unknown;
}

/** "Are you sure?" for a destructive action: Cancel has the focus, the action button is red. */
export function ConfirmDialog({ open, onClose, title, children, confirmLabel, onConfirm, pending, error }: ConfirmDialogProps) {
  return (
    <Dialog open={open} onClose={onClose} title={title}>
      <p className="text-sm text-slate-700 dark:text-slate-300">{children}</p>
      {error ? <Alert className="mt-4">{errorMessage(error)}</Alert> : null}
      <div className="mt-6 flex flex-wrap justify-end gap-3">
        <button type="button" className={button.secondary} onClick={onClose} autoFocus>
          Cancel
        </button>
        <button type="button" className={button.danger} disabled={pending} onClick={onConfirm}>
          {pending && <Spinner />}
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
