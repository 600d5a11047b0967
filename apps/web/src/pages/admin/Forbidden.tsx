import { isApiError } from '../../api';
import { Alert } from '../../components/Alert';

/** What a non-admin sees on the admin page. */
export function Forbidden() {
  return (
    <Alert title="403 — Administrators only">
      Your account cannot open this page. Ask an administrator if you think you should have access.
    </Alert>
  );
}

export const isForbidden = (err: unknown) => isApiError(err) && err.status === 403;
