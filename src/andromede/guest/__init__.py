"""Guest images the cloud boots for itself and its tests: `build_tiny_image(cache_dir)` makes the tiny one."""

from andromede.guest.build import build_tiny_image, default_cache_dir

__all__ = ["build_tiny_image", "default_cache_dir"]
