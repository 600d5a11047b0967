import { useEffect, useState } from 'react';
import { copyText } from '../../clipboard';
import { button } from '../../components/ui';

/**
 * A "Copy" button with a polite live message next to it. `label` is the visible text,
 * `srSuffix` completes the accessible name (e.g. " SSH command for web-1").
 */
export function CopyButton({ text, label = 'Copy', srSuffix = '', className = button.secondary }: { text: string; label?: string; srSuffix?: string; className?: string }) {
  const [result, setResult] = useState<'copied' | 'failed'>();
  useEffect(() => {
    if (!result) return;
    const timer = setTimeout(() => setResult(undefined), 2500);
    return () => clearTimeout(timer);
  }, [result]);

  return (
    <span className="inline-flex items-center gap-2">
      <button type="button" className={className} onClick={() => void copyText(text).then((ok) => setResult(ok ? 'copied' : 'failed'))}>
        {label}
        {srSuffix && <span className="sr-only">{srSuffix}</span>}
      </button>
      <span aria-live="polite" className="text-xs text-slate-600 dark:text-slate-400">
        {result === 'copied' ? 'Copied' : result === 'failed' ? 'Copy blocked: select it and press Ctrl+C' : ''}
      </span>
    </span>
  );
}
