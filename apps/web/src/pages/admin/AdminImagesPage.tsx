import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Image } from '@twarga/contract';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, muted, table } from '../../components/ui';
import { AdminShell } from './AdminShell';
import { Forbidden, isForbidden } from './Forbidden';
import { useImages } from '../vms/queries';

const KIND: Record<Image['kind'], string> = { builtin: 'built in', built: 'built on this host', url: 'download by URL' };

/** "building 40%", "downloading", "available"… */
function imageStatusText(image: Image): string {
  if (image.status === 'building' || image.status === 'downloading') {
    return image.progress === null ? image.status : `${image.status} ${Math.round(image.progress * 100)}%`;
  }
  return image.status;
}

function useStart() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ slug, how }: { slug: string; how: 'build' | 'download' }) => (how === 'build' ? client.admin.buildImage(slug) : client.admin.downloadImage(slug)),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.images }),
  });
}

/** Build/Retry for the image built here, Download/Retry for a cloud image by URL; nothing once available. */
function startAction(image: Image): { how: 'build' | 'download'; label: string } | undefined {
  if (image.kind === 'builtin' || !['pending', 'error'].includes(image.status)) return undefined;
  const how = image.kind === 'built' ? 'build' : 'download';
  return { how, label: image.status === 'error' ? 'Retry' : how === 'build' ? 'Build' : 'Download' };
}

function ImagesSection() {
  const images = useImages();
  const start = useStart();
  if (images.isError && isForbidden(images.error)) return <Forbidden />;
  return (
    <Section
      title="Images"
      description="What VMs boot from. Debian 12 is built on this host from Debian's packages, in the background after the first start; cloud images by URL are downloaded and verified when you ask."
    >
      {start.isError && (
        <Alert className="mb-4">
          Could not start {start.variables?.slug}: {errorMessage(start.error)}
        </Alert>
      )}
      {images.isPending && <SkeletonRows label="Loading images…" />}
      {images.isError && <Alert>Could not load the images: {errorMessage(images.error)}</Alert>}
      {images.isSuccess && images.data.length === 0 && <EmptyList>No images</EmptyList>}
      {images.isSuccess && images.data.length > 0 && (
        <div className={table.wrap}>
          <table className={table.table}>
            <caption className="sr-only">Images</caption>
            <thead>
              <tr>
                {['Image', 'Kind', 'Status', 'SSH user'].map((h) => (
                  <th key={h} scope="col" className={table.th}>
                    {h}
                  </th>
                ))}
                <th scope="col" className={table.th}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className={table.tbody}>
              {images.data.map((image) => {
                const action = startAction(image);
                return (
                  <tr key={image.slug} data-slug={image.slug}>
                    <th scope="row" className={`${table.td} text-left font-normal`}>
                      <span className="block font-semibold text-slate-900 dark:text-white">{image.name}</span>
                      <code className={`block font-mono text-xs ${muted}`}>{image.slug}</code>
                    </th>
                    <td className={table.td}>{KIND[image.kind]}</td>
                    <td className={table.td}>
                      <span className="font-medium">{imageStatusText(image)}</span>
                      {image.error && <span className={`mt-0.5 block max-w-md text-xs break-words ${muted}`}>{image.error}</span>}
                    </td>
                    <td className={table.td}>
                      <code className="font-mono">{image.ssh_user}</code>
                    </td>
                    <td className={`${table.td} text-right`}>
                      {action && (
                        <button type="button" className={button.secondary} disabled={start.isPending && start.variables?.slug === image.slug}
                          onClick={() => start.mutate({ slug: image.slug, how: action.how })}>
                          {action.label}
                          <span className="sr-only"> {image.slug}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

/** /admin/images: the image catalog with its builds and downloads. */
export function AdminImagesPage() {
  return <AdminShell title="Images · Admin">{() => <ImagesSection />}</AdminShell>;
}
