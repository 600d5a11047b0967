import type { Size } from '@twarga/contract';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { TextField } from '../../components/Field';
import { SkeletonRows } from '../../components/Spinner';
import { link } from '../../components/ui';
import { formatNumber } from '../../format';
import { ChoiceCard, ChoiceGroup } from './Choices';
import { bySmallest, formatCpus, formatMemory, formatPrice } from './format';
import { useSizes } from './queries';

export interface CustomSize {
  ram: string;
  cpu: string;
  disk: string;
}

interface Props {
  /** A size slug, or null for "Custom". */
  value: string | null;
  onChange: (slug: string | null) => void;
  custom: CustomSize;
  onCustomChange: (field: keyof CustomSize, value: string) => void;
  errors: Partial<Record<'size' | keyof CustomSize, string>>;
  /** Why a size cannot be chosen (e.g. its disk is smaller than the VM's): the card is disabled and says so. */
  unavailable?: (size: Size) => string | undefined;
  /** The smallest custom disk (GB): a resize never shrinks the disk. */
  minDisk?: number;
  /** Cards per row on wide screens (a dialog is narrower than the create page). */
  wideColumns?: 3 | 4;
}

/** Radio cards of the sizes, cheapest first, plus "Custom" with its own three numbers. */
export function SizePicker({ value, onChange, custom, onCustomChange, errors, unavailable, minDisk = 1, wideColumns = 4 }: Props) {
  const sizes = useSizes();
  const list = sizes.data ? [...sizes.data].sort(bySmallest) : [];
  return (
    <ChoiceGroup legend="Size" error={errors.size}>
      {sizes.isPending && <SkeletonRows label="Loading sizes…" rows={2} />}
      {sizes.isError && (
        <Alert className="mb-3">
          Could not load the sizes: {errorMessage(sizes.error)}{' '}
          <button type="button" className={`${link} underline`} onClick={() => void sizes.refetch()}>
            Try again
          </button>
        </Alert>
      )}
      {!sizes.isPending && (
        <div className={`grid gap-3 sm:grid-cols-2 ${wideColumns === 4 ? 'lg:grid-cols-4' : 'lg:grid-cols-3'}`}>
          {list.map((size) => {
            const why = unavailable?.(size);
            return (
              <ChoiceCard key={size.slug} name="size" value={size.slug} checked={value === size.slug} disabled={Boolean(why)} onChange={() => onChange(size.slug)}>
                <span className="block text-base font-semibold text-slate-900 dark:text-white">{formatMemory(size.memory)}</span>
                <span className="block text-slate-700 dark:text-slate-300">
                  {formatCpus(size.vcpus)} · {formatNumber(size.disk)} GB disk
                </span>
                <span className="mt-1 block font-medium text-indigo-700 dark:text-indigo-300">{formatPrice(size.price_hourly)}</span>
                <span className="block font-mono text-xs text-slate-600 dark:text-slate-400">{size.slug}</span>
                {why && <span className="block text-xs font-medium text-amber-800 dark:text-amber-200">{why}</span>}
              </ChoiceCard>
            );
          })}
          <ChoiceCard name="size" value="custom" checked={value === null} onChange={() => onChange(null)}>
            <span className="block text-base font-semibold text-slate-900 dark:text-white">Custom</span>
            <span className="block text-slate-700 dark:text-slate-300">Choose memory, vCPUs and disk yourself.</span>
          </ChoiceCard>
        </div>
      )}
      {value === null && (
        <div className="mt-4 grid gap-4 sm:grid-cols-3">
          {(
            [
              ['ram', 'Memory (MB)', 64, 'At least 64.'],
              ['cpu', 'vCPUs', 1, undefined],
              ['disk', 'Disk (GB)', minDisk, minDisk > 1 ? `At least ${formatNumber(minDisk)}: a disk only grows.` : undefined],
            ] as const
          ).map(([field, label, min, hint]) => (
            <TextField
              key={field}
              label={label}
              name={field}
              type="number"
              inputMode="numeric"
              min={min}
              step={1}
              value={custom[field]}
              onChange={(e) => onCustomChange(field, e.target.value)}
              error={errors[field]}
              hint={hint}
            />
          ))}
        </div>
      )}
    </ChoiceGroup>
  );
}
