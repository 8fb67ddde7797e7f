# check_output.cmake — runs one sample and checks what it prints.
#
#   cmake -DCMD=<exe> [-DARGS="a b"] -DEXPECTED=<file> [-DEXIT_CODE=0]
#         [-DSTDERR_REGEX=<regex>] [-DTOLERANCE=5]
#         [-DMIN_SECONDS=<s>] [-DMAX_SECONDS=<s>] -P check_output.cmake
#
# The sample's stdout must equal EXPECTED line by line, except for two
# markers an expected file may hold:
#
#   {{2.0}}          in a line: the actual line has a number with one decimal
#                    there (a time printed with "%1.1f"), within TOLERANCE
#                    tenths of 2.0; the rest of the line must match exactly.
#                    One marker per line.
#   {{unordered}}    the lines up to {{/unordered}} may come in any order,
#                    each exactly once.
#
# The exit status must be EXIT_CODE, stderr must match STDERR_REGEX if given,
# and the run must take between MIN_SECONDS and MAX_SECONDS of wall time if
# given (fractions allowed). The environment (GROVE_TIME_SCALE, GROVE_SEED)
# comes from the test. Lines must not contain ';' (CMake lists).
cmake_minimum_required(VERSION 3.25)

if(NOT DEFINED CMD OR NOT DEFINED EXPECTED)
  message(FATAL_ERROR "usage: cmake -DCMD=exe -DEXPECTED=file -P check_output.cmake")
endif()
if(NOT DEFINED EXIT_CODE)
  set(EXIT_CODE 0)
endif()
if(NOT DEFINED TOLERANCE)
  set(TOLERANCE 5)
endif()
separate_arguments(args UNIX_COMMAND "${ARGS}")

# Microseconds since the epoch ("%f" is new in CMake 3.23).
string(TIMESTAMP t0 "%s%f" UTC)
execute_process(COMMAND "${CMD}" ${args}
                OUTPUT_VARIABLE out ERROR_VARIABLE err
                RESULT_VARIABLE rc TIMEOUT 60)
string(TIMESTAMP t1 "%s%f" UTC)
math(EXPR elapsed_us "${t1} - ${t0}")

set(failures "")
macro(fail msg)
  string(APPEND failures "  ${msg}\n")
endmacro()

if(NOT "${rc}" STREQUAL "${EXIT_CODE}")
  fail("exit status ${rc}, expected ${EXIT_CODE}")
endif()
if(DEFINED STDERR_REGEX AND NOT err MATCHES "${STDERR_REGEX}")
  fail("stderr does not match '${STDERR_REGEX}'")
endif()

# "0.25" seconds -> microseconds, without floating point.
function(seconds_to_us s outvar)
  if(NOT s MATCHES "^([0-9]*)(\\.([0-9]*))?$")
    message(FATAL_ERROR "bad number of seconds: ${s}")
  endif()
  set(whole "${CMAKE_MATCH_1}")
  set(frac "${CMAKE_MATCH_3}000000")
  string(SUBSTRING "${frac}" 0 6 frac)
  if(whole STREQUAL "")
    set(whole 0)
  endif()
  string(REGEX REPLACE "^0+([0-9])" "\\1" frac "${frac}")
  math(EXPR us "${whole} * 1000000 + ${frac}")
  set(${outvar} ${us} PARENT_SCOPE)
endfunction()
if(DEFINED MIN_SECONDS)
  seconds_to_us("${MIN_SECONDS}" min_us)
  if(elapsed_us LESS min_us)
    fail("ran ${elapsed_us} us, less than ${MIN_SECONDS} s")
  endif()
endif()
if(DEFINED MAX_SECONDS)
  seconds_to_us("${MAX_SECONDS}" max_us)
  if(elapsed_us GREATER max_us)
    fail("ran ${elapsed_us} us, more than ${MAX_SECONDS} s")
  endif()
endif()

# Text -> list of lines (a trailing newline ends the last line, it does not
# start an empty one).
function(to_lines text outvar)
  if(text STREQUAL "")
    set(${outvar} "" PARENT_SCOPE)
    return()
  endif()
  string(REGEX REPLACE "\n$" "" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(${outvar} "${lines}" PARENT_SCOPE)
endfunction()

# "2.0" -> 20 (tenths); empty if it is not such a number.
function(to_tenths s outvar)
  if(s MATCHES "^(-?)([0-9]+)\\.([0-9])$")
    math(EXPR t "${CMAKE_MATCH_2} * 10 + ${CMAKE_MATCH_3}")
    if(CMAKE_MATCH_1 STREQUAL "-")
      math(EXPR t "0 - ${t}")
    endif()
    set(${outvar} ${t} PARENT_SCOPE)
  else()
    set(${outvar} "" PARENT_SCOPE)
  endif()
endfunction()

# Does the actual line match the expected one (with an optional {{x.y}})?
function(line_matches exp act outvar)
  set(${outvar} FALSE PARENT_SCOPE)
  string(FIND "${exp}" "{{" open)
  if(open EQUAL -1)
    if(exp STREQUAL act)
      set(${outvar} TRUE PARENT_SCOPE)
    endif()
    return()
  endif()
  string(FIND "${exp}" "}}" close)
  string(SUBSTRING "${exp}" 0 ${open} prefix)
  math(EXPR nstart "${open} + 2")
  math(EXPR nlen "${close} - ${nstart}")
  string(SUBSTRING "${exp}" ${nstart} ${nlen} want)
  math(EXPR sstart "${close} + 2")
  string(SUBSTRING "${exp}" ${sstart} -1 suffix)

  string(LENGTH "${prefix}" plen)
  string(LENGTH "${suffix}" slen)
  string(LENGTH "${act}" alen)
  math(EXPR glen "${alen} - ${plen} - ${slen}")
  if(glen LESS 1)
    return()
  endif()
  string(SUBSTRING "${act}" 0 ${plen} aprefix)
  string(SUBSTRING "${act}" ${plen} ${glen} got)
  math(EXPR asstart "${plen} + ${glen}")
  string(SUBSTRING "${act}" ${asstart} -1 asuffix)
  if(NOT aprefix STREQUAL prefix OR NOT asuffix STREQUAL suffix)
    return()
  endif()
  to_tenths("${want}" w)
  to_tenths("${got}" g)
  if(g STREQUAL "")
    return()
  endif()
  math(EXPR d "${g} - ${w}")
  if(d LESS 0)
    math(EXPR d "0 - ${d}")
  endif()
  if(NOT d GREATER TOLERANCE)
    set(${outvar} TRUE PARENT_SCOPE)
  endif()
endfunction()

file(READ "${EXPECTED}" want_text)
to_lines("${want_text}" want)
to_lines("${out}" got)
list(LENGTH want nwant)
list(LENGTH got ngot)

set(i 0) # index into want
set(j 0) # index into got
while(i LESS nwant)
  list(GET want ${i} e)
  if(e STREQUAL "{{unordered}}")
    # Gather the block and as many actual lines; compare them sorted.
    set(block "")
    math(EXPR i "${i} + 1")
    while(i LESS nwant)
      list(GET want ${i} e)
      if(e STREQUAL "{{/unordered}}")
        break()
      endif()
      list(APPEND block "${e}")
      math(EXPR i "${i} + 1")
    endwhile()
    math(EXPR i "${i} + 1")
    list(LENGTH block nblock)
    set(actual_block "")
    foreach(k RANGE 1 ${nblock})
      if(j LESS ngot)
        list(GET got ${j} a)
        list(APPEND actual_block "${a}")
        math(EXPR j "${j} + 1")
      endif()
    endforeach()
    list(SORT block)
    list(SORT actual_block)
    if(NOT "${block}" STREQUAL "${actual_block}")
      fail("unordered block differs: expected {${block}}, got {${actual_block}}")
    endif()
    continue()
  endif()
  math(EXPR lineno "${j} + 1")
  if(j LESS ngot)
    list(GET got ${j} a)
    line_matches("${e}" "${a}" ok)
    if(NOT ok)
      fail("line ${lineno}: expected '${e}', got '${a}'")
    endif()
  else()
    fail("line ${lineno}: expected '${e}', got end of output")
  endif()
  math(EXPR i "${i} + 1")
  math(EXPR j "${j} + 1")
endwhile()
if(j LESS ngot)
  list(GET got ${j} a)
  math(EXPR lineno "${j} + 1")
  fail("line ${lineno}: unexpected '${a}'")
endif()

message("---- stdout (${elapsed_us} us, exit ${rc})\n${out}---- stderr\n${err}----")
if(NOT failures STREQUAL "")
  message(FATAL_ERROR "${CMD} ${ARGS}: output check failed:\n${failures}")
endif()
