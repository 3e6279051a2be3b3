/* asan_options.c - AddressSanitizer defaults for the fuzz targets whose code
 * under test allocates on every input (fuzz_signal: libstrophe stanzas;
 * fuzz_config: libconfig's settings; and fuzz_api, built with them). Linked into
 * those libFuzzer binaries only (tests/fuzz/meson.build), never into the
 * standalone replays. Thread: read once by the ASan runtime at start.
 *
 * Why: profiled on the 2-vCPU VM, the default 256 MB quarantine hands every
 * allocation fresh pages (page faults and TLB shootdowns were ~30% of
 * fuzz_config's time), filling each new block with 0xbe was another ~12% and
 * recording 30-frame stacks in the depot ~10%. With these values the targets
 * run ~2.7 times as many inputs a second. Detection is the same within one
 * input (a 16 MB quarantine still holds every block freed while one input
 * runs; a use after free or overflow is still caught, only reported with an
 * 8-frame stack); ASAN_OPTIONS on the command line overrides these. */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16:max_malloc_fill_size=0:malloc_context_size=8";
}
