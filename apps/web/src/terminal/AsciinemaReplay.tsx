import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { useEffect, useRef } from 'react';
import './replay-theme.css';

/**
 * asciinema-player fed with a recording's text (asciicast v2). Loaded lazily: the player and its
 * WebAssembly terminal only reach the browser when someone replays a session.
 */
export default function AsciinemaReplay({ cast, title }: { cast: string; title: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const player = AsciinemaPlayer.create({ data: cast }, ref.current, {
      autoPlay: true,
      // Long pauses (someone reading, an idle prompt) are cut to a second.
      idleTimeLimit: 1,
      fit: 'width',
      terminalFontSize: '13px',
      theme: 'twarga',
    });
    return () => player.dispose();
  }, [cast]);
  return <div ref={ref} role="region" aria-label={title} data-testid="replay-player" className="overflow-hidden rounded-lg ring-1 ring-slate-200 dark:ring-slate-700" />;
}
