-- more unknown names than the log lists (16)
return function(n)
  if n == 0 then return sys.nosuch0() end
  if n == 1 then return sys.nosuch1() end
  if n == 2 then return sys.nosuch2() end
  if n == 3 then return sys.nosuch3() end
  if n == 4 then return sys.nosuch4() end
  if n == 5 then return sys.nosuch5() end
  if n == 6 then return sys.nosuch6() end
  if n == 7 then return sys.nosuch7() end
  if n == 8 then return sys.nosuch8() end
  if n == 9 then return sys.nosuch9() end
  if n == 10 then return sys.nosuch10() end
  if n == 11 then return sys.nosuch11() end
  if n == 12 then return sys.nosuch12() end
  if n == 13 then return sys.nosuch13() end
  if n == 14 then return sys.nosuch14() end
  if n == 15 then return sys.nosuch15() end
  if n == 16 then return sys.nosuch16() end
  if n == 17 then return sys.nosuch17() end
  if n == 18 then return sys.nosuch18() end
  if n == 19 then return sys.nosuch19() end
  return 0
end
