import { useEffect, useRef } from 'react';
import { errorMessage } from '../../api';
import { muted } from '../../components/ui';
import { useActionLog } from './queries';

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/**
 * An action's steps and what the hypervisor tool printed meanwhile (a Vagrant boot prints
 * dozens of lines). Lines of a running action arrive live; the view follows the newest one
 * unless the reader has scrolled up.
 */
export function ActionLogView({ actionId, id }: { actionId: number; id: string }) {
  const log = useActionLog(actionId, true);
  const box = useRef<HTMLOListElement>(null);
  const pinned = useRef(true);
  const count = log.data?.lines.length ?? 0;

  useEffect(() => {
    const el = box.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [count]);

  return <div id={id}>{body()}</div>;

  function body() {
    if (log.isPending) return <p className={`text-xs ${muted}`}>Loading the log…</p>;
    if (log.isError) return <p className="text-xs text-red-700 dark:text-red-300">Could not load the log: {errorMessage(log.error)}</p>;
    if (count === 0) return <p className={`text-xs ${muted}`}>Nothing logged for this action.</p>;
    return (
      <ol
        ref={box}
        tabIndex={0}
        aria-label={`Log of action ${actionId}`}
        onScroll={(e) => {
          const el = e.currentTarget;
          pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
        }}
        className="max-h-64 overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-5 text-slate-100"
      >
        {log.data!.lines.map((l, i) => (
          <li key={i} className="whitespace-pre-wrap [overflow-wrap:anywhere]">
            <time dateTime={l.at} className="mr-2 select-none text-slate-400">
              {timeFmt.format(new Date(l.at))}
            </time>
            {l.line}
          </li>
        ))}
      </ol>
    );
  }
}
