// Package crosscheck proves the Raspberry Pi builds of wartel-kiosk start.
// It has only tests: they cross-build ./firmware for linux/arm GOARM=6
// (Pi Zero and Pi 1, and every 32-bit Raspberry Pi OS), GOARM=7 and
// linux/arm64 with CGO off and -trimpath, the way `make cross` does, and
// run each under Debian's qemu-user-static (the GOARM=6 build on the Pi 1's
// own CPU model, arm1176): `version`, `config check` on the packaged
// example, and `selftest` on the simulated GPIO backend with an emulated
// card reader on a pseudo-terminal and a real SQLite store.
//
// Without qemu-arm-static and qemu-aarch64-static the tests skip, unless
// CI is set: then they fail, so CI cannot pass without running the ARM
// builds.
package crosscheck
