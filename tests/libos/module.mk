# tests/libos: unit tests and fuzz targets of libos's wire checkers.
