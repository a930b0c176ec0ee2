package launch

// WithCommitEFI sets only the CommitEFI hook (WithHooks replaces every
// hook). Launch runs it first, before the policy is verified, a DRTM
// backend is checked or anything is measured (docs/design.md, "Flows"): the
// deferred EFI variable changes are committed while the platform is still
// in the state the pre-launch environment was measured into. A hook that
// reboots the machine (a change that only takes effect through the
// firmware) does not return; an error stops the launch: nothing is
// measured and nothing is booted.
func WithCommitEFI(f func() error) LaunchOption {
	return func(c *launchConfig) { c.hooks.CommitEFI = f }
}
