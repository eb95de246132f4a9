// Tests seed libtorch's process-wide generator (torch.manual_seed) before building modules; run in parallel, one
// test's draws would interleave with another's. Each test still runs its tensor work on all cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
