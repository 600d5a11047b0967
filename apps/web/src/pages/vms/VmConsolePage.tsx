import { useQueryClient } from '@tanstack/react-query';
import { TERMINAL_KINDS, type TerminalKind } from '@twarga/contract/browser';
import { lazy, Suspense, useCallback } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { errorMessage, isApiError } from '../../api';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/Spinner';
import { ThemeToggle } from '../../components/ThemeToggle';
import { link } from '../../components/ui';
import { useTitle } from '../../useTitle';
import { refreshTerminalSessions } from '../terminals/queries';
import { TerminalPlaceholder } from './ConsoleSection';
import { KindSwitch } from './KindSwitch';
import { useVm } from './queries';
import { VmStatusBadge } from './StatusBadge';

const TerminalView = lazy(() => import('../../terminal/TerminalView'));

const parseKind = (v: string | null): TerminalKind => (TERMINAL_KINDS as readonly string[]).includes(v ?? '') ? (v as TerminalKind) : 'serial';

/** /vms/:id/console?kind=serial|ssh — the terminal fills the window; it connects by itself. */
export function VmConsolePage() {
  const param = useParams().id ?? '';
  const id = /^\d+$/.test(param) ? Number(param) : NaN;
  const [search, setSearch] = useSearchParams();
  const kind = parseKind(search.get('kind'));
  const vm = useVm(id);
  const queryClient = useQueryClient();
  const refresh = useCallback(() => refreshTerminalSessions(queryClient, id), [queryClient, id]);
  const notFound = Number.isNaN(id) || (vm.isError && isApiError(vm.error) && vm.error.status === 404);
  useTitle(`${kind === 'ssh' ? 'SSH' : 'Console'} · ${vm.data?.name ?? 'VM'}`);

  return (
    <div className="flex h-dvh flex-col">
      <header className="flex flex-wrap items-center gap-x-4 gap-y-2 border-b border-slate-200 bg-white px-3 py-2 sm:px-4 dark:border-slate-800 dark:bg-slate-900">
        <Link to={Number.isNaN(id) ? '/vms' : `/vms/${id}`} className={`${link} text-sm`}>
          ← Back<span className="sr-only"> to the VM</span>
        </Link>
        <div className="flex min-w-0 items-center gap-2">
          <h1 className="truncate text-base font-semibold text-slate-900 dark:text-white">{vm.data?.name ?? 'Console'}</h1>
          {vm.data && <VmStatusBadge status={vm.data.status} reason={vm.data.status_reason} />}
        </div>
        <div className="ml-auto flex items-center gap-2">
          <KindSwitch value={kind} onChange={(k) => setSearch({ kind: k }, { replace: true })} />
          <ThemeToggle />
        </div>
      </header>
      <main className="flex min-h-0 flex-1 flex-col p-2 sm:p-3">
        {notFound && <Alert title="VM not found">This VM does not exist, has been destroyed, or belongs to someone else.</Alert>}
        {!notFound && vm.isPending && <Loading label="Loading the VM…" />}
        {!notFound && vm.isError && <Alert title="Could not load this VM">{errorMessage(vm.error)}</Alert>}
        {vm.data && (
          <Suspense fallback={<TerminalPlaceholder className="flex-1" />}>
            <TerminalView key={kind} vm={vm.data} kind={kind} autoConnect onSessionChange={refresh} className="min-h-0 flex-1" />
          </Suspense>
        )}
      </main>
    </div>
  );
}
