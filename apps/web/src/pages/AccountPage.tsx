import { PageHeader } from '../components/PageHeader';
import { useTitle } from '../useTitle';
import { ApiTokensSection } from './account/ApiTokensSection';
import { PasswordSection } from './account/PasswordSection';
import { ProfileSection } from './account/ProfileSection';
import { SshKeysSection } from './account/SshKeysSection';

export function AccountPage() {
  useTitle('Account');
  return (
    <>
      <PageHeader title="Account" description="Your profile, password, SSH keys and API tokens." />
      <div className="space-y-6">
        <ProfileSection />
        <PasswordSection />
        <SshKeysSection />
        <ApiTokensSection />
      </div>
    </>
  );
}
