import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  AdminStatistics,
  AdminUser,
  AdminUserDetail,
  AdminUsersQuery,
  AdminVm,
  AdminVmActionRequest,
  AdminVmsQuery,
  AuditEntry,
  AuditPage,
  BulkUsersRequest,
  BulkUsersResponse,
  DeletedUser,
  EmergencyStopResult,
  UpdateQuotaRequest,
  UpdateUserRequest,
  UserQuota,
} from '@twarga/contract';
import { client, keys } from '../../api';
import { toSearch, type AuditFilters } from './params';

/*
 * The admin API beyond the seed's (GET /api/admin/users without paging, PATCH, credits) is called
 * through the shared client's request/exchange, typed with the contract: the pages need the
 * X-Total-Count header, which the client's one-line helpers do not return.
 */

/**
 * Every key starts with 'admin'; users' keys with ['admin', 'users'] (what AdjustCreditsDialog
 * invalidates), so a change to a user refreshes the list and their detail page alike.
 */
export const adminKeys = {
  all: ['admin'] as const,
  users: (q: AdminUsersQuery) => ['admin', 'users', 'list', q] as const,
  user: (id: number) => ['admin', 'users', 'detail', id] as const,
  vms: (q: AdminVmsQuery) => ['admin', 'vms', q] as const,
  statistics: ['admin', 'statistics'] as const,
  audit: (f: AuditFilters) => ['admin', 'audit', f] as const,
};

/** A page of rows and how many match in all (X-Total-Count). */
export interface Counted<T> {
  rows: T[];
  total: number;
}

async function counted<T>(path: string): Promise<Counted<T>> {
  const { body, headers } = await client.exchange<T[]>('GET', path);
  const total = Number(headers.get('x-total-count'));
  return { rows: body, total: Number.isFinite(total) && headers.has('x-total-count') ? total : body.length };
}

export const adminApi = {
  users: (q: AdminUsersQuery) => counted<AdminUser>(`/api/admin/users${toSearch(q)}`),
  user: (id: number) => client.request<AdminUserDetail>('GET', `/api/admin/users/${id}`),
  updateUser: (id: number, body: UpdateUserRequest) => client.request<AdminUser>('PATCH', `/api/admin/users/${id}`, body),
  updateQuota: (id: number, body: UpdateQuotaRequest) => client.request<UserQuota>('PATCH', `/api/admin/users/${id}/quota`, body),
  deleteUser: (id: number) => client.request<DeletedUser>('DELETE', `/api/admin/users/${id}`),
  bulk: (body: BulkUsersRequest) => client.request<BulkUsersResponse>('POST', '/api/admin/users/bulk', body),
  emergencyStopUser: (id: number, reason?: string) => client.request<EmergencyStopResult>('POST', `/api/admin/users/${id}/emergency-stop`, reason ? { reason } : {}),
  emergencyStopAll: (confirm: string, reason?: string) => client.request<EmergencyStopResult>('POST', '/api/admin/emergency-stop-all', { confirm, ...(reason ? { reason } : {}) }),
  vms: (q: AdminVmsQuery) => counted<AdminVm>(`/api/admin/vms${toSearch(q)}`),
  vmAction: (id: number, body: AdminVmActionRequest) => client.request<unknown>('POST', `/api/admin/vms/${id}/action`, body),
  statistics: () => client.request<AdminStatistics>('GET', '/api/admin/statistics'),
  audit: (f: AuditFilters, beforeId: number | undefined, limit: number) => client.request<AuditPage>('GET', `/api/admin/audit${toSearch({ ...f, before_id: beforeId, limit })}`),
};

/** How often the overview and the VM list ask again: VMs change state on their own. */
const POLL_MS = 10_000;

export const useAdminUsers = (q: AdminUsersQuery) => useQuery({ queryKey: adminKeys.users(q), queryFn: () => adminApi.users(q), placeholderData: keepPreviousData });

export const useAdminUser = (id: number) => useQuery({ queryKey: adminKeys.user(id), queryFn: () => adminApi.user(id), refetchInterval: POLL_MS, enabled: id > 0 });

export const useAdminVms = (q: AdminVmsQuery) => useQuery({ queryKey: adminKeys.vms(q), queryFn: () => adminApi.vms(q), placeholderData: keepPreviousData, refetchInterval: POLL_MS });

export const useStatistics = () => useQuery({ queryKey: adminKeys.statistics, queryFn: adminApi.statistics, refetchInterval: POLL_MS });

/** Admins, for the audit log's actor filter. */
export const useAdmins = () => useQuery({ queryKey: adminKeys.users({ status: 'admin', sort: 'username', order: 'asc', limit: 1000 }), queryFn: () => adminApi.users({ status: 'admin', sort: 'username', order: 'asc', limit: 1000 }) });

export const AUDIT_PAGE_SIZE = 50;

/** The audit log, newest first, a page at a time (next_cursor is the next page's before_id). */
export const useAuditPages = (f: AuditFilters) =>
  useInfiniteQuery({
    queryKey: adminKeys.audit(f),
    queryFn: ({ pageParam }) => adminApi.audit(f, pageParam, AUDIT_PAGE_SIZE),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

export type { AuditEntry };

/**
 * A mutation whose success changes what admin pages show (users, VMs, statistics, the audit log
 * itself): every admin query is asked again once it lands.
 */
export function useAdminMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: fn,
    // The admin may have changed their own balance or role too.
    onSettled: () => Promise.all([queryClient.invalidateQueries({ queryKey: adminKeys.all }), queryClient.invalidateQueries({ queryKey: keys.me })]),
  });
}
