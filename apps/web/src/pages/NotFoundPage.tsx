import { Link } from 'react-router';
import { button } from '../components/ui';
import { useTitle } from '../useTitle';

export function NotFoundPage() {
  useTitle('Page not found');
  return (
    <div className="py-16 text-center">
      <p className="text-sm font-semibold text-indigo-700 dark:text-indigo-300">404</p>
      <h1 className="mt-2 text-2xl font-bold tracking-tight text-slate-900 dark:text-white">Page not found</h1>
      <p className="mt-2 text-sm text-slate-600 dark:text-slate-400">There is nothing at this address.</p>
      <Link to="/vms" className={`${button.primary} mt-6`}>
        Back to your VMs
      </Link>
    </div>
  );
}
