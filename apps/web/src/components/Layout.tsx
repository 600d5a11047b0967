import { useEffect, useState } from 'react';
import { Link, Outlet, useLocation } from 'react-router';
import { LiveEvents } from '../events/LiveEvents';
import { LogoMark } from './Logo';
import { DesktopNav, MobileNav, navItems } from './Nav';
import { useSignedIn } from './SignedInGate';
import { ThemeToggle } from './ThemeToggle';
import { button, focusRing } from './ui';
import { UserMenu } from './UserMenu';

/** The signed-in shell: header, navigation, user menu and the page in <main>. */
export function Layout() {
  const signedIn = useSignedIn();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);

  // Close the phone menu whenever the page changes, and on Escape.
  useEffect(() => setMenuOpen(false), [location.pathname]);
  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setMenuOpen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [menuOpen]);

  if (signedIn.gate) return signedIn.gate;

  const { user } = signedIn;
  const items = navItems(user.is_admin);

  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className={`sr-only focus:not-sr-only focus:fixed focus:left-4 focus:top-3 focus:z-50 focus:rounded-lg focus:bg-indigo-600 focus:px-4 focus:py-2 focus:text-sm focus:font-semibold focus:text-white ${focusRing}`}>
        Skip to content
      </a>
      <header className="relative z-30 border-b border-slate-200 bg-white/90 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
        <div className="mx-auto flex h-16 max-w-6xl items-center gap-6 px-4 sm:px-6">
          <Link to="/vms" className={`flex items-center gap-2.5 rounded-md ${focusRing}`}>
            <LogoMark />
            <span className="text-lg font-bold tracking-tight text-slate-900 dark:text-white">Twarga Cloud</span>
          </Link>
          <DesktopNav items={items} />
          <div className="ml-auto flex items-center gap-2 md:gap-4">
            <div className="hidden md:block">
              <UserMenu user={user} />
            </div>
            <ThemeToggle />
            <button
              type="button"
              className={`${button.icon} md:hidden`}
              aria-label="Menu"
              aria-expanded={menuOpen}
              aria-controls="mobile-menu"
              onClick={() => setMenuOpen((o) => !o)}
            >
              <svg viewBox="0 0 24 24" className="h-6 w-6" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden="true">
                {menuOpen ? <path d="M6 6l12 12M18 6 6 18" /> : <path d="M4 7h16M4 12h16M4 17h16" />}
              </svg>
            </button>
          </div>
        </div>
        {menuOpen && (
          <div id="mobile-menu" className="border-t border-slate-200 px-4 pb-5 pt-3 md:hidden dark:border-slate-800">
            <MobileNav items={items} />
            <div className="mt-4 border-t border-slate-200 pt-4 dark:border-slate-800">
              <UserMenu user={user} stacked />
            </div>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 px-4 py-8 focus:outline-none sm:px-6">
        <Outlet />
      </main>
      <footer className="border-t border-slate-200 py-6 text-center text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
        Twarga Cloud · your self-hosted mini-cloud
      </footer>
      <LiveEvents />
    </div>
  );
}
