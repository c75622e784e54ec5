# cmake -DSCDOC=... -DIN=page.scd -DOUT=page.N.gz -P scdoc.cmake
# Renders one scdoc page to roff, turns hyphenation off (it splits URLs
# and option names), and compresses it reproducibly as Debian wants.
execute_process(COMMAND "${SCDOC}" INPUT_FILE "${IN}"
                OUTPUT_VARIABLE roff RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scdoc failed on ${IN}")
endif()
string(REGEX REPLACE "(\n\\.TH [^\n]*\n)" "\\1.nh\n" roff "${roff}")
string(REGEX REPLACE "\\.gz$" "" plain "${OUT}")
file(WRITE "${plain}" "${roff}")
execute_process(COMMAND gzip -9nc INPUT_FILE "${plain}" OUTPUT_FILE "${OUT}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed on ${plain}")
endif()
