import { useEffect } from 'react';

/** Sets the tab title: "<page> · Twarga Cloud". */
export function useTitle(page: string): void {
  useEffect(() => {
    document.title = page ? `${page} · Twarga Cloud` : 'Twarga Cloud';
  }, [page]);
}
