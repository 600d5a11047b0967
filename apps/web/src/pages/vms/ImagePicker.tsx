import type { Image } from '@twarga/contract';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { SkeletonRows } from '../../components/Spinner';
import { link } from '../../components/ui';
import { ChoiceCard, ChoiceGroup } from './Choices';
import { useImages } from './queries';

function unavailable(image: Image): string {
  if (image.status === 'downloading' || image.status === 'building') {
    return image.progress === null ? image.status : `${image.status} ${Math.round(image.progress * 100)}%`;
  }
  // The API gives the reason to admins only; other users just learn it cannot be used.
  if (image.status === 'error') return image.error ? `error: ${image.error}` : 'not available (an administrator can see why)';
  return image.status;
}

/** Radio cards of the images; only available ones can be chosen. */
export function ImagePicker({ value, onChange, error }: { value: string; onChange: (slug: string) => void; error?: string }) {
  const images = useImages();
  return (
    <ChoiceGroup legend="Image" error={error}>
      {images.isPending && <SkeletonRows label="Loading images…" rows={2} />}
      {images.isError && (
        <Alert>
          Could not load the images: {errorMessage(images.error)}{' '}
          <button type="button" className={`${link} underline`} onClick={() => void images.refetch()}>
            Try again
          </button>
        </Alert>
      )}
      {images.isSuccess && images.data.length === 0 && <EmptyList>No images on this server yet. Ask an administrator to add one.</EmptyList>}
      {images.isSuccess && images.data.length > 0 && (
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {images.data.map((image) => {
            const available = image.status === 'available';
            return (
              <ChoiceCard key={image.slug} name="image" value={image.slug} checked={value === image.slug} disabled={!available} onChange={() => onChange(image.slug)}>
                <span className="block font-semibold text-slate-900 dark:text-white">
                  {image.distribution} {image.version}
                </span>
                <span className="block text-xs text-slate-600 dark:text-slate-400">
                  {image.name !== `${image.distribution} ${image.version}` && <>{image.name} · </>}
                  {available ? `at least ${image.min_disk} GB disk` : <span className="font-medium text-amber-800 dark:text-amber-200">{unavailable(image)}</span>}
                </span>
              </ChoiceCard>
            );
          })}
        </div>
      )}
    </ChoiceGroup>
  );
}
