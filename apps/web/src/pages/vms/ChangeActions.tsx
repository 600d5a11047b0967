import type { Vm } from '@twarga/contract';
import { useState } from 'react';
import { button } from '../../components/ui';
import { RebuildDialog } from './RebuildDialog';
import { ResizeDialog } from './ResizeDialog';
import { changeBlocked } from './vmStatus';

/**
 * Resize and Rebuild: both need the VM stopped (Rebuild also takes one in error). A disabled
 * button says why in its tooltip and to screen readers.
 */
export function ChangeActions({ vm }: { vm: Vm }) {
  const [open, setOpen] = useState<'resize' | 'rebuild'>();
  const why = changeBlocked(vm);
  return (
    <>
      <span title={why.resize} className="grid">
        <button type="button" className={button.secondary} disabled={Boolean(why.resize)} aria-description={why.resize} onClick={() => setOpen('resize')}>
          Resize
        </button>
      </span>
      <span title={why.rebuild} className="grid">
        <button type="button" className={button.secondary} disabled={Boolean(why.rebuild)} aria-description={why.rebuild} onClick={() => setOpen('rebuild')}>
          Rebuild
        </button>
      </span>
      <ResizeDialog vm={vm} open={open === 'resize'} onClose={() => setOpen(undefined)} />
      <RebuildDialog vm={vm} open={open === 'rebuild'} onClose={() => setOpen(undefined)} />
    </>
  );
}
