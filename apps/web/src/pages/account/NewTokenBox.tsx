import type { CreatedApiToken } from '@twarga/contract';
import { useRef, useState } from 'react';
import { button } from '../../components/ui';

/** The freshly created secret, shown once, with a Copy button. */
export function NewTokenBox({ token, onDismiss }: { token: CreatedApiToken; onDismiss: () => void }) {
  const codeRef = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<'yes' | 'failed'>();

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token.token);
      setCopied('yes');
    } catch {
      // No clipboard permission (or not a secure context): select the text for Ctrl+C instead.
      const node = codeRef.current;
      const selection = window.getSelection();
      if (node && selection) {
        const range = document.createRange();
        range.selectNodeContents(node);
        selection.removeAllRanges();
        selection.addRange(range);
      }
      setCopied('failed');
    }
  };

  return (
    <div className="mb-6 rounded-xl border-2 border-amber-400 bg-amber-50 p-4 dark:border-amber-500/70 dark:bg-amber-950/40">
      <p className="text-sm font-semibold text-amber-900 dark:text-amber-100">
        Token “{token.name}” created ({token.scope})
      </p>
      <p className="mt-1 text-sm font-medium text-amber-900 dark:text-amber-100">Copy it now — it will not be shown again.</p>
      <div className="mt-3 flex flex-col gap-2 sm:flex-row sm:items-center">
        <code
          ref={codeRef}
          data-testid="new-token"
          className="block min-w-0 flex-1 break-all rounded-lg border border-amber-300 bg-white px-3 py-2 font-mono text-sm text-slate-900 dark:border-amber-700 dark:bg-slate-950 dark:text-amber-50"
        >
          {token.token}
        </code>
        <div className="flex gap-2">
          <button type="button" className={button.primary} onClick={() => void copy()}>
            Copy
          </button>
          <button type="button" className={button.secondary} onClick={onDismiss}>
            Done
          </button>
        </div>
      </div>
      <p role="status" className="mt-2 min-h-5 text-sm text-amber-900 dark:text-amber-100">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'failed' ? 'Copying is blocked here: the token is selected, press Ctrl+C (⌘C).' : ''}
      </p>
    </div>
  );
}
