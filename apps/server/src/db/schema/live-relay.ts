// GROUNDWORK: owned by the live-relay helper (issue 16). Table types for migration 023, if any.
export interface LiveRelayTable {
  id: number;
}
