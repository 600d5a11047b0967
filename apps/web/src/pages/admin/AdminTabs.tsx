import { SectionTabs } from '../../components/SectionTabs';

const TABS = [
  { to: '/admin', label: 'Users', end: true },
  { to: '/admin/terminals', label: 'Terminal sessions', end: false },
  { to: '/admin/hosts', label: 'Compute hosts', end: false },
];

/** The admin area's sections, as links (each is its own page and URL). */
export function AdminTabs() {
  return <SectionTabs label="Admin sections" tabs={TABS} />;
}
