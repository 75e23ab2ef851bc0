import { ownerAlive } from '../../lib/proc.js';
import type { Lease } from '../schema.js';

/** Who holds an entry's lease: `<host>:<pid>:<random>`, unique per process. */
export type LeaseOwner = string;

/** True while another live process holds `lease` (a lease of a dead pid on this host is void). */
export function leasedByOther(lease: Lease | undefined, owner: LeaseOwner, now: Date): boolean {
  if (lease === undefined || lease.owner === owner) return false;
  if (Date.parse(lease.until) <= now.getTime()) return false;
  return ownerAlive(lease.owner);
}
