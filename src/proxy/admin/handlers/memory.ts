import { json } from '../responses.js';
import type { AdminHandler } from '../types.js';

/**
 * GET /memory: Envoy's admin.v3.Memory message (uint64 fields as strings, as proto3 JSON prints them).
 * Envoy reports tcmalloc's numbers; here they are V8's: `allocated` is the live JS heap, `heap_size` what
 * V8 reserved for it, `total_physical_bytes` the resident set of the process. Soak tests and operators
 * read it to see whether memory keeps growing under steady load.
 */
export const memoryHandler: AdminHandler = {
  path: '/memory',
  help: 'print current allocation/heap usage',
  mutatesState: false,
  handle() {
    const usage = process.memoryUsage();
    return json(200, {
      allocated: String(usage.heapUsed),
      heap_size: String(usage.heapTotal),
      pageheap_unmapped: '0',
      pageheap_free: String(Math.max(0, usage.heapTotal - usage.heapUsed)),
      total_thread_cache: '0',
      total_physical_bytes: String(usage.rss),
    });
  },
};
