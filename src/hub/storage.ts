// The hub's storage types live in ./storage/; this name stays for modules that still import it.
export type { IngestRecord } from './storage/types.js';
