import { Outlet } from 'react-router';
import { LiveEvents } from '../events/LiveEvents';
import { useSignedIn } from './SignedInGate';

/** A signed-in page without the app's header and footer (the full-window console). */
export function BareLayout() {
  const signedIn = useSignedIn();
  if (signedIn.gate) return signedIn.gate;
  return (
    <>
      <Outlet />
      {/* VM status changes arrive here too: the console says so when the VM stops. */}
      <LiveEvents />
    </>
  );
}
