import type { User } from '@twarga/contract';
import { useLogout } from '../auth/useLogout';
import { credits } from '../format';
import { Alert } from './Alert';
import { Spinner } from './Spinner';
import { button } from './ui';

/** Who is signed in, their credits, and the way out. */
export function UserMenu({ user, stacked = false }: { user: User; stacked?: boolean }) {
  const logout = useLogout();
  return (
    <div className={stacked ? 'space-y-3' : 'flex items-center gap-3'}>
      <div className={stacked ? 'flex items-center gap-3' : 'flex items-center gap-2.5'}>
        <span aria-hidden="true" className="flex h-8 w-8 items-center justify-center rounded-full bg-indigo-100 text-sm font-semibold uppercase text-indigo-700 dark:bg-indigo-900 dark:text-indigo-200">
          {user.username.slice(0, 1)}
        </span>
        <div className="leading-tight">
          <p className="text-sm font-semibold text-slate-900 dark:text-white">{user.username}</p>
          <p className="text-xs text-slate-600 dark:text-slate-400">{credits(user.credits)}</p>
        </div>
      </div>
      <button type="button" className={`${button.secondary} ${stacked ? 'w-full' : 'px-3 py-1.5'}`} onClick={() => logout.mutate()} disabled={logout.isPending}>
        {logout.isPending && <Spinner />}
        {logout.isPending ? 'Logging out…' : 'Log out'}
      </button>
      {logout.isError && <Alert>Could not log out cleanly; you have been signed out of this page.</Alert>}
    </div>
  );
}
