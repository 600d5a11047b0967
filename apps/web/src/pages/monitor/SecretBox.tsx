import type { CreatedChannel } from '@twarga/contract';
import { button } from '../../components/ui';
import { CopyButton } from '../vms/CopyButton';

/** A webhook's signing secret, right after create or rotate: shown this once, with Copy. */
export function SecretBox({ channel, onDismiss }: { channel: CreatedChannel; onDismiss: () => void }) {
  if (!channel.secret) return null;
  return (
    <div className="mb-6 rounded-xl border-2 border-amber-400 bg-amber-50 p-4 dark:border-amber-500/70 dark:bg-amber-950/40">
      <p className="text-sm font-semibold text-amber-900 dark:text-amber-100">Signing secret of “{channel.name}”</p>
      <p className="mt-1 text-sm text-amber-900 dark:text-amber-100">
        Copy it now — it will not be shown again. Check each request with HMAC-SHA256 of its body under this key (header X-Twarga-Signature).
      </p>
      <div className="mt-3 flex flex-col gap-2 sm:flex-row sm:items-center">
        <code data-testid="webhook-secret" className="block min-w-0 flex-1 break-all rounded-lg border border-amber-300 bg-white px-3 py-2 font-mono text-sm text-slate-900 dark:border-amber-700 dark:bg-slate-950 dark:text-amber-50">
          {channel.secret}
        </code>
        <div className="flex items-center gap-2">
          <CopyButton text={channel.secret} label="Copy" srSuffix=" signing secret" className={button.primary} />
          <button type="button" className={button.secondary} onClick={onDismiss}>
            Done
          </button>
        </div>
      </div>
    </div>
  );
}
