# herald_bytes_of(<file> <bytes_var> <size_var>): the file's bytes as C array
# items ("0x2d,0x2d,..."), 16 to a line, and how many there are. Shared by the
# scripts that compile files into the binary (EmbedFile, EmbedMigrations).
function(herald_bytes_of file bytes_var size_var)
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # 16 bytes per line (CMake's regex has no {16}).
  string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
  string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
  set(${bytes_var} "${bytes}" PARENT_SCOPE)
  set(${size_var} "${size}" PARENT_SCOPE)
endfunction()
