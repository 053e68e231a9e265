#!/bin/sh
# Before `make demo` opens a real window on Linux, check that Qt's xcb plugin can load: on a minimal Debian
# image it needs a few libxcb packages that the PySide6 wheels do not ship. Without a display the desk
# itself says so and renders the demo panes to PNG instead, so there is nothing to check then.
py="$1"
[ "$(uname -s)" = Linux ] || exit 0
[ -n "${DISPLAY:-}" ] || exit 0
[ -z "${QT_QPA_PLATFORM:-}" ] || exit 0
plugin=$("$py" -c 'import PySide6, pathlib; print(pathlib.Path(PySide6.__file__).parent / "Qt/plugins/platforms/libqxcb.so")')
missing=$(ldd "$plugin" 2>/dev/null | awk '/not found/ {print $1}' | sort -u)
if [ -n "$missing" ]; then
    echo "Qt cannot open a window here: these libraries are missing: $missing" >&2
    echo "On Debian/Ubuntu: sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0" >&2
    exit 1
fi
exit 0
