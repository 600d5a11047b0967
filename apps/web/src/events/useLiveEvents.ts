import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { openLiveStream } from './liveStream';

/**
 * Live updates without polling, feeding the query cache. Mount it once, in the signed-in layout.
 * Returns `paused` = true while the stream has been down for more than 5 s.
 */
export function useLiveEvents(): { paused: boolean } {
  const queryClient = useQueryClient();
  const [paused, setPaused] = useState(false);

  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    return openLiveStream(queryClient, setPaused);
  }, [queryClient]);

  return { paused };
}
